//! The plan: every row of the matrix (a "cell": peer, mode, direction,
//! storage, the body sizes it runs, and what must happen).
//!
//! Sizes: every metadata cell of a peer's main modes runs all of
//! [`ALL_SIZES`] (0, 1, 15, 16, 17, 4095, 65539 and 1 MiB + 3 bytes);
//! instruction-file cells run [`INSTR_SIZES`] (0, 17, 65539); multipart
//! cells run 17 bytes (one part) and 5 MiB + 7 (two parts of the 5 MiB
//! minimum); cells that exist to record a refusal or a secondary reader run
//! 17 bytes (and 65539 for some). So every size is covered for each peer in
//! each direction.

use s3ec_core::CommitmentPolicy;
use s3ec_keyring::Context;

use super::env::{KeyKind, ReadPolicy};
use super::peer::{Peer, ROTATION_KEY, ROTATION_RSA};

/// 1 MiB + 3: "about 1 MiB", not a multiple of the block size.
pub(crate) const ONE_MIB_PLUS: u64 = (1 << 20) + 3;
/// Two parts: one of S3's 5 MiB minimum and a 7-byte tail.
pub(crate) const MULTIPART_SIZE: u64 = (5 << 20) + 7;
/// Every body size of the issue.
pub(crate) const ALL_SIZES: [u64; 8] = [0, 1, 15, 16, 17, 4095, 65539, ONE_MIB_PLUS];
/// Bodies of instruction-file cells.
pub(crate) const INSTR_SIZES: [u64; 3] = [0, 17, 65539];
/// The body size of ranged-get cells.
pub(crate) const RANGED_SIZE: u64 = 65539;
/// The range forms every ranged-get peer is asked for: first byte, first
/// block, across the first block boundary, one block inside, a long middle
/// run, open-ended, the last bytes, past the end, and a suffix.
pub(crate) const RANGES: [&str; 10] = [
    "bytes=0-0",
    "bytes=0-15",
    "bytes=15-16",
    "bytes=16-31",
    "bytes=17-4110",
    "bytes=100-",
    "bytes=65530-65538",
    "bytes=65530-99999",
    "bytes=1000-1000",
    "bytes=-10",
];

/// The body size tampered copies are made from (small, so the saved
/// negative vectors stay small).
pub(crate) const TAMPER_SIZE: u64 = 17;

/// Which way the object goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Dir {
    /// The peer writes, s3ec reads.
    PeerWrites,
    /// s3ec writes, the peer reads.
    RustWrites,
}

impl Dir {
    /// Matrix label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Dir::PeerWrites => "peer → s3ec",
            Dir::RustWrites => "s3ec → peer",
        }
    }
}

/// Where the envelope goes (and how the body is uploaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    /// Object metadata, one PUT.
    Meta,
    /// Instruction file.
    Instr,
    /// Object metadata, multipart upload.
    Multipart,
}

impl Storage {
    /// Matrix label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Storage::Meta => "metadata",
            Storage::Instr => "instruction file",
            Storage::Multipart => "metadata, multipart",
        }
    }

    /// Vector case id part.
    pub(crate) fn short(self) -> &'static str {
        match self {
            Storage::Meta => "meta",
            Storage::Instr => "instr",
            Storage::Multipart => "mpu",
        }
    }
}

/// What a cell must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Round trip to the same bytes.
    Pass,
    /// The peer refuses: its driver exits with `exit`, and its message
    /// contains `says` (a documented limitation, interop/README.md).
    Cannot {
        /// 1 (the peer's own error) or 3 (the peer has no API for it).
        exit: i32,
        /// A piece of the peer's message.
        says: &'static str,
    },
    /// Ranged gets: the peer ignores the range form and returns the whole
    /// object (a peer bug, recorded as "peer cannot" with this text; s3ec
    /// must still return the range).
    WholeObject {
        /// What the matrix says.
        says: &'static str,
    },
}

/// Which tampered copies are made of a peer-written object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TamperSet {
    /// GCM content: body, tag, IV, wrapped key, cek-alg→CBC, and for KMS
    /// objects the stored and the caller's context.
    Gcm,
    /// CBC content (unauthenticated by design): the wrapped key, and for
    /// KMS objects the stored context.
    Cbc,
}

/// What runs in a cell.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// The peer puts, the Rust client gets.
    PeerToRust {
        /// The driver mode.
        mode: &'static str,
        /// `--context` of the put.
        context: Option<Context>,
        /// `--matdesc` of the put.
        matdesc: Option<Context>,
        /// How s3ec reads.
        read: ReadPolicy,
        /// The encryption context s3ec expects on the get.
        expected: Option<Context>,
        /// Save sizes 0 and 17 as vector cases.
        save: bool,
        /// Make tampered copies of the 17-byte object.
        tamper: Option<TamperSet>,
        /// Further options of the put (`--low-level`, ...).
        extra: &'static [&'static str],
        /// A ranged-get cell: this `Range` (`bytes=A-B`, `bytes=A-`,
        /// `bytes=-N`) is read by the peer and by s3ec, and both must equal
        /// that slice of the plaintext.
        range: Option<&'static str>,
    },
    /// The Rust client puts, the peer gets.
    RustToPeer {
        /// V3 (`RequireEncrypt...`) or V2 (`ForbidEncryptAllowDecrypt`).
        commitment: CommitmentPolicy,
        /// The encryption context of the put (KMS).
        context: Context,
        /// The material description of a raw-key keyring.
        matdesc: Option<Context>,
        /// The peer's get mode.
        mode: &'static str,
        /// `--context` of the get.
        get_context: Option<Context>,
        /// `--legacy` of the get.
        legacy: bool,
        /// The key the peer is given for the get (a KMS key where the peer
        /// has no raw-key API, so that it answers with its own error).
        get_kind: KeyKind,
        /// Further options of the get.
        extra: &'static [&'static str],
    },
}

/// One row of the matrix.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    /// Index in the plan.
    pub(crate) id: usize,
    /// Direction.
    pub(crate) dir: Dir,
    /// The peer.
    pub(crate) peer: Peer,
    /// The master key.
    pub(crate) kind: KeyKind,
    /// Envelope storage.
    pub(crate) storage: Storage,
    /// Extra words for the matrix (key size, context kind).
    pub(crate) note: &'static str,
    /// Body sizes.
    pub(crate) sizes: Vec<u64>,
    /// What must happen.
    pub(crate) expect: Expect,
    /// What runs.
    pub(crate) op: Op,
}

impl Cell {
    /// Who writes, for the matrix.
    pub(crate) fn writer(&self) -> String {
        match &self.op {
            Op::PeerToRust { mode, .. } => format!("{} {mode}", self.peer),
            Op::RustToPeer { commitment, .. } => {
                let v = if *commitment == CommitmentPolicy::ForbidEncryptAllowDecrypt {
                    "V2"
                } else {
                    "V3"
                };
                let wrap = match self.kind {
                    KeyKind::Kms => "kms+context",
                    KeyKind::Aes256 | KeyKind::Aes128 => "AES/GCM",
                    KeyKind::Rsa => "RSA-OAEP-SHA1",
                };
                format!("s3ec {v} {wrap}")
            }
        }
    }

    /// Who reads, for the matrix.
    pub(crate) fn reader(&self) -> String {
        match &self.op {
            Op::PeerToRust { .. } if matches!(self.expect, Expect::Cannot { .. }) => {
                "s3ec (nothing to read)".to_string()
            }
            Op::PeerToRust { read, .. } => read.label().to_string(),
            Op::RustToPeer { mode, legacy, .. } => {
                format!(
                    "{} {mode}{}",
                    self.peer,
                    if *legacy { " --legacy" } else { "" }
                )
            }
        }
    }
}

fn ctx(pairs: &[(&str, &str)]) -> Context {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The ASCII encryption context (Python refuses any other).
pub(crate) fn ascii_ctx() -> Context {
    ctx(&[("tenant", "acme-corp"), ("purpose", "s3ec-interop")])
}

/// A non-ASCII encryption context.
pub(crate) fn non_ascii_ctx() -> Context {
    ctx(&[("department", "Zürich-Ω"), ("project", "s3ec-rust ✓")])
}

/// A non-ASCII material description (raw-key modes).
pub(crate) fn non_ascii_matdesc() -> Context {
    ctx(&[
        ("owner", "Zoë Ångström ☃ 東京"),
        ("purpose", "s3ec-interop"),
    ])
}

/// An ASCII material description.
pub(crate) fn ascii_matdesc() -> Context {
    ctx(&[("owner", "s3ec-interop"), ("purpose", "java-v1")])
}

/// The material description of a raw-key cell: non-ASCII, except for
/// java-v1, whose StaticEncryptionMaterialsProvider hands out its key only
/// for the description it was given (its gets are given the writer's), and
/// whose writes store headers as ISO-8859-1 (one s3ec-written row has a
/// non-ASCII one).
fn raw_matdesc(peer: Peer, kind: KeyKind) -> Option<Context> {
    matches!(kind, KeyKind::Aes256 | KeyKind::Aes128 | KeyKind::Rsa).then(|| {
        if peer == Peer::JavaV1 {
            ascii_matdesc()
        } else {
            non_ascii_matdesc()
        }
    })
}

/// Builds the plan.
struct Plan {
    cells: Vec<Cell>,
}

impl Plan {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        dir: Dir,
        peer: Peer,
        kind: KeyKind,
        storage: Storage,
        note: &'static str,
        sizes: &[u64],
        expect: Expect,
        op: Op,
    ) {
        let id = self.cells.len();
        self.cells.push(Cell {
            id,
            dir,
            peer,
            kind,
            storage,
            note,
            sizes: sizes.to_vec(),
            expect,
            op,
        });
    }

    /// A peer-written cell.
    #[allow(clippy::too_many_arguments)]
    fn p2r(
        &mut self,
        peer: Peer,
        mode: &'static str,
        kind: KeyKind,
        storage: Storage,
        note: &'static str,
        sizes: &[u64],
        context: Option<Context>,
        read: ReadPolicy,
        expected: Option<Context>,
        extras: (bool, Option<TamperSet>),
    ) {
        let matdesc = raw_matdesc(peer, kind);
        self.add(
            Dir::PeerWrites,
            peer,
            kind,
            storage,
            note,
            sizes,
            Expect::Pass,
            Op::PeerToRust {
                mode,
                context,
                matdesc,
                read,
                expected,
                save: extras.0,
                tamper: extras.1,
                extra: &[],
                range: None,
            },
        );
    }

    /// A ranged-get cell: the peer writes `mode` (65539 bytes), then the
    /// peer's ranged get of `spec` and s3ec's must both equal the slice.
    #[allow(clippy::too_many_arguments)]
    fn ranged(
        &mut self,
        peer: Peer,
        mode: &'static str,
        kind: KeyKind,
        spec: &'static str,
        context: Option<Context>,
        expect: Expect,
    ) {
        let matdesc = raw_matdesc(peer, kind);
        self.add(
            Dir::PeerWrites,
            peer,
            kind,
            Storage::Meta,
            spec,
            &[RANGED_SIZE],
            expect,
            Op::PeerToRust {
                mode,
                context: context.clone(),
                matdesc,
                read: ReadPolicy::RANGED,
                expected: context,
                save: false,
                tamper: None,
                extra: &[],
                range: Some(spec),
            },
        );
    }

    /// A peer-written cell the peer cannot write.
    #[allow(clippy::too_many_arguments)]
    fn p2r_cannot(
        &mut self,
        peer: Peer,
        mode: &'static str,
        kind: KeyKind,
        storage: Storage,
        note: &'static str,
        context: Option<Context>,
        exit: i32,
        says: &'static str,
    ) {
        self.add(
            Dir::PeerWrites,
            peer,
            kind,
            storage,
            note,
            &[17],
            Expect::Cannot { exit, says },
            Op::PeerToRust {
                mode,
                context,
                matdesc: None,
                read: ReadPolicy::LEGACY_ALL,
                expected: None,
                save: false,
                tamper: None,
                extra: &[],
                range: None,
            },
        );
    }

    /// An s3ec-written cell.
    #[allow(clippy::too_many_arguments)]
    fn r2p(
        &mut self,
        peer: Peer,
        v2: bool,
        kind: KeyKind,
        storage: Storage,
        note: &'static str,
        sizes: &[u64],
        context: Context,
        mode: &'static str,
        get_context: Option<Context>,
        expect: Expect,
    ) {
        let matdesc = raw_matdesc(peer, kind);
        self.add(
            Dir::RustWrites,
            peer,
            kind,
            storage,
            note,
            sizes,
            expect,
            Op::RustToPeer {
                commitment: if v2 {
                    CommitmentPolicy::ForbidEncryptAllowDecrypt
                } else {
                    CommitmentPolicy::RequireEncryptRequireDecrypt
                },
                context,
                matdesc,
                mode,
                get_context,
                legacy: false,
                get_kind: if peer.has_raw_keys() {
                    kind
                } else {
                    KeyKind::Kms
                },
                extra: &[],
            },
        );
    }
}

/// Every cell, for the chosen peers (one call a row, laid out as a table).
#[rustfmt::skip]
pub(crate) fn plan(peers: &[Peer]) -> Vec<Cell> {
    use KeyKind::{Aes128, Aes256, Kms, Rsa};
    use Storage::{Instr, Meta, Multipart};
    const PASS: Expect = Expect::Pass;
    let mp = [17, MULTIPART_SIZE];
    let (ascii, nonascii) = (ascii_ctx(), non_ascii_ctx());
    let none = Context::new();
    let mut p = Plan { cells: Vec::new() };
    let save_tamper = |t| (true, Some(t));
    let save = (true, None);
    let plain = (false, None);

    if peers.contains(&Peer::Python) {
        let py = Peer::Python;
        let c = Some(ascii.clone());
        // Python writes, s3ec reads.
        p.p2r(py, "v3-kms", Kms, Meta, "ASCII context", &ALL_SIZES, c.clone(),
              ReadPolicy::V3_ONLY, c.clone(), save_tamper(TamperSet::Gcm));
        p.p2r(py, "v2-kms", Kms, Meta, "ASCII context", &ALL_SIZES, c.clone(),
              ReadPolicy::ALLOW_V2, c.clone(), save_tamper(TamperSet::Gcm));
        p.p2r(py, "v3-kms", Kms, Multipart, "5 MiB parts", &mp, c.clone(),
              ReadPolicy::V3_ONLY, c.clone(), save);
        p.p2r(py, "v2-kms", Kms, Multipart, "5 MiB parts", &mp, c.clone(),
              ReadPolicy::ALLOW_V2, c.clone(), save);
        p.p2r_cannot(py, "v3-kms", Kms, Meta, "non-ASCII context", Some(nonascii.clone()),
                     1, "must contain only US-ASCII characters");
        p.p2r_cannot(py, "v3-kms", Kms, Instr, "", c.clone(), 3,
                     "cannot write instruction files");
        // s3ec writes, Python reads.
        p.r2p(py, false, Kms, Meta, "ASCII context", &ALL_SIZES, ascii.clone(), "v3-kms",
              c.clone(), PASS);
        p.r2p(py, false, Kms, Instr, "ASCII context", &INSTR_SIZES, ascii.clone(), "v3-kms",
              c.clone(), PASS);
        p.r2p(py, false, Kms, Multipart, "5 MiB parts", &[MULTIPART_SIZE], ascii.clone(),
              "v3-kms", c.clone(), PASS);
        p.r2p(py, false, Kms, Meta, "ASCII context", &[17, 65539], ascii.clone(), "v2-kms",
              c.clone(), PASS);
        p.r2p(py, true, Kms, Meta, "ASCII context", &ALL_SIZES, ascii.clone(), "v2-kms",
              c.clone(), PASS);
        p.r2p(py, true, Kms, Instr, "ASCII context", &INSTR_SIZES, ascii.clone(), "v2-kms",
              c.clone(), PASS);
        p.r2p(py, true, Kms, Meta, "ASCII context", &[17], ascii.clone(), "v3-kms", c.clone(),
              Expect::Cannot { exit: 1, says: "cannot decrypt non-key-committing object" });
        p.r2p(py, false, Kms, Meta, "non-ASCII context", &[17], nonascii.clone(), "v3-kms",
              Some(nonascii.clone()),
              Expect::Cannot { exit: 1, says: "must contain only US-ASCII characters" });
        p.r2p(py, false, Aes256, Meta, "", &[17], none.clone(), "v3-kms", None,
              Expect::Cannot { exit: 1, says: "is not a valid key wrapping algorithm" });
    }

    if peers.contains(&Peer::Ruby) {
        let rb = Peer::Ruby;
        let c = Some(nonascii.clone());
        // Ruby writes, s3ec reads.
        p.p2r(rb, "v2-aesgcm", Aes256, Meta, "non-ASCII matdesc", &ALL_SIZES, None,
              ReadPolicy::ALLOW_V2, None, save_tamper(TamperSet::Gcm));
        p.p2r(rb, "v2-aesgcm", Aes128, Meta, "AES-128, non-ASCII matdesc", &[0, 17, 4095],
              None, ReadPolicy::ALLOW_V2, None, save);
        p.p2r(rb, "v2-aesgcm", Aes256, Instr, "non-ASCII matdesc", &INSTR_SIZES, None,
              ReadPolicy::ALLOW_V2, None, save_tamper(TamperSet::Gcm));
        p.p2r(rb, "v2-rsaoaep", Rsa, Meta, "non-ASCII matdesc", &ALL_SIZES, None,
              ReadPolicy::ALLOW_V2, None, save_tamper(TamperSet::Gcm));
        p.p2r(rb, "v2-rsaoaep", Rsa, Instr, "non-ASCII matdesc", &INSTR_SIZES, None,
              ReadPolicy::ALLOW_V2, None, save);
        p.p2r(rb, "v2-kmsctx", Kms, Meta, "non-ASCII context", &ALL_SIZES, c.clone(),
              ReadPolicy::ALLOW_V2, c.clone(), save_tamper(TamperSet::Gcm));
        p.p2r(rb, "v2-kmsctx", Kms, Instr, "non-ASCII context", &INSTR_SIZES, c.clone(),
              ReadPolicy::ALLOW_V2, c.clone(), save_tamper(TamperSet::Gcm));
        p.p2r(rb, "v1-aesecb", Aes256, Meta, "non-ASCII matdesc", &ALL_SIZES, None,
              ReadPolicy::LEGACY_ALL, None, save);
        p.p2r(rb, "v1-aesecb", Aes128, Meta, "AES-128, non-ASCII matdesc", &[0, 17, 4095],
              None, ReadPolicy::LEGACY_ALL, None, plain);
        p.p2r(rb, "v1-aesecb", Aes256, Instr, "non-ASCII matdesc", &INSTR_SIZES, None,
              ReadPolicy::LEGACY_ALL, None, save);
        p.p2r(rb, "v1-rsa", Rsa, Meta, "non-ASCII matdesc", &ALL_SIZES, None,
              ReadPolicy::LEGACY_ALL, None, save_tamper(TamperSet::Cbc));
        p.p2r(rb, "v1-rsa", Rsa, Instr, "non-ASCII matdesc", &INSTR_SIZES, None,
              ReadPolicy::LEGACY_ALL, None, save);
        p.p2r(rb, "v1-kms", Kms, Meta, "context {kms_cmk_id}", &ALL_SIZES, None,
              ReadPolicy::LEGACY_ALL, None, save_tamper(TamperSet::Cbc));
        p.p2r(rb, "v1-kms", Kms, Instr, "context {kms_cmk_id}", &INSTR_SIZES, None,
              ReadPolicy::LEGACY_ALL, None, save);
        p.p2r_cannot(rb, "v2-kmsctx", Kms, Multipart, "", c.clone(), 3, "multipart");
        // s3ec writes, Ruby reads.
        p.r2p(rb, true, Aes256, Meta, "non-ASCII matdesc", &ALL_SIZES, none.clone(),
              "v2-aesgcm", None, PASS);
        p.r2p(rb, true, Aes256, Instr, "non-ASCII matdesc", &INSTR_SIZES, none.clone(),
              "v2-aesgcm", None, PASS);
        p.r2p(rb, true, Aes128, Meta, "AES-128, non-ASCII matdesc", &[17], none.clone(),
              "v2-aesgcm", None, PASS);
        p.r2p(rb, true, Rsa, Meta, "non-ASCII matdesc", &ALL_SIZES, none.clone(),
              "v2-rsaoaep", None, PASS);
        p.r2p(rb, true, Rsa, Instr, "non-ASCII matdesc", &INSTR_SIZES, none.clone(),
              "v2-rsaoaep", None, PASS);
        p.r2p(rb, true, Kms, Meta, "non-ASCII context", &ALL_SIZES, nonascii.clone(),
              "v2-kmsctx", c.clone(), PASS);
        p.r2p(rb, true, Kms, Instr, "non-ASCII context", &INSTR_SIZES, nonascii.clone(),
              "v2-kmsctx", c.clone(), PASS);
        p.r2p(rb, true, Kms, Multipart, "5 MiB parts", &[MULTIPART_SIZE], nonascii.clone(),
              "v2-kmsctx", c.clone(), PASS);
        // The legacy Encryption::Client reads V2 objects too.
        p.r2p(rb, true, Aes256, Meta, "non-ASCII matdesc", &[17, 65539], none.clone(),
              "v1-aesecb", None, PASS);
        p.r2p(rb, true, Rsa, Meta, "non-ASCII matdesc", &[17], none.clone(), "v1-rsa", None,
              PASS);
        p.r2p(rb, true, Kms, Meta, "non-ASCII context", &[17], nonascii.clone(), "v1-kms",
              None, PASS);
        let no_envelope = Expect::Cannot { exit: 1, says: "unable to locate encryption envelope" };
        p.r2p(rb, false, Kms, Meta, "non-ASCII context", &[17], nonascii.clone(), "v2-kmsctx",
              c.clone(), no_envelope);
        p.r2p(rb, false, Aes256, Meta, "non-ASCII matdesc", &[17], none.clone(), "v2-aesgcm",
              None, no_envelope);
    }

    if peers.contains(&Peer::Go) {
        let go = Peer::Go;
        let c = Some(nonascii.clone());
        // Go writes, s3ec reads.
        p.p2r(go, "v2-kmsctx", Kms, Meta, "non-ASCII context", &ALL_SIZES, c.clone(),
              ReadPolicy::ALLOW_V2, c.clone(), save_tamper(TamperSet::Gcm));
        p.p2r(go, "v2-kmsctx", Kms, Instr, "non-ASCII context", &INSTR_SIZES, c.clone(),
              ReadPolicy::ALLOW_V2, c.clone(), save_tamper(TamperSet::Gcm));
        p.p2r(go, "v1-kms-gcm", Kms, Meta, "non-ASCII matdesc", &ALL_SIZES, c.clone(),
              ReadPolicy::LEGACY_WRAP, None, save_tamper(TamperSet::Gcm));
        p.p2r(go, "v1-kms-gcm", Kms, Instr, "non-ASCII matdesc", &INSTR_SIZES, c.clone(),
              ReadPolicy::LEGACY_WRAP, None, save);
        p.p2r(go, "v1-kms-cbc", Kms, Meta, "non-ASCII matdesc", &ALL_SIZES, c.clone(),
              ReadPolicy::LEGACY_ALL, None, save_tamper(TamperSet::Cbc));
        p.p2r(go, "v1-kms-cbc", Kms, Instr, "non-ASCII matdesc", &INSTR_SIZES, c.clone(),
              ReadPolicy::LEGACY_ALL, None, save);
        p.p2r_cannot(go, "v2-kmsctx", Kms, Multipart, "", c.clone(), 3, "multipart");
        p.p2r_cannot(go, "v2-kmsctx", Aes256, Meta, "raw AES key", None, 3, "no raw-key wraps");
        // s3ec writes, Go reads.
        p.r2p(go, true, Kms, Meta, "non-ASCII context", &ALL_SIZES, nonascii.clone(),
              "v2-kmsctx", c.clone(), PASS);
        p.r2p(go, true, Kms, Instr, "non-ASCII context", &INSTR_SIZES, nonascii.clone(),
              "v2-kmsctx", c.clone(), PASS);
        p.r2p(go, true, Kms, Multipart, "5 MiB parts", &[MULTIPART_SIZE], nonascii.clone(),
              "v2-kmsctx", c.clone(), PASS);
        p.r2p(go, false, Kms, Meta, "non-ASCII context", &[17], nonascii.clone(), "v2-kmsctx",
              c.clone(), Expect::Cannot { exit: 1, says: "NoSuchKey" });
        p.r2p(go, true, Aes256, Meta, "non-ASCII matdesc", &[17], none.clone(), "v2-kmsctx",
              None, Expect::Cannot { exit: 1, says: "wrap algorithm isn't supported, AES/GCM" });
        p.r2p(go, true, Rsa, Meta, "non-ASCII matdesc", &[17], none, "v2-kmsctx", None,
              Expect::Cannot { exit: 1, says: "wrap algorithm isn't supported, RSA-OAEP-SHA1" });
    }
    if peers.contains(&Peer::GoV4) {
        go_v4_cells(&mut p);
    }
    for peer in [Peer::Java3, Peer::Java4] {
        if peers.contains(&peer) {
            java_s3ec_cells(&mut p, peer);
        }
    }
    if peers.contains(&Peer::JavaV1) {
        java_v1_cells(&mut p);
    }
    p.cells
}

/// amazon-s3-encryption-client-go v4: KMS keyrings only, metadata writes only.
#[rustfmt::skip]
fn go_v4_cells(p: &mut Plan) {
    use KeyKind::{Aes256, Kms};
    use Storage::{Instr, Meta, Multipart};
    const PASS: Expect = Expect::Pass;
    let g = Peer::GoV4;
    let nonascii = non_ascii_ctx();
    let c = Some(nonascii.clone());
    let gcm = (true, Some(TamperSet::Gcm));
    // Go v4 writes, s3ec reads.
    p.p2r(g, "v3-kms", Kms, Meta, "non-ASCII context", &ALL_SIZES, c.clone(),
          ReadPolicy::V3_ONLY, c.clone(), gcm);
    p.p2r(g, "v2-kms", Kms, Meta, "non-ASCII context", &ALL_SIZES, c.clone(),
          ReadPolicy::ALLOW_V2, c.clone(), gcm);
    p.p2r_cannot(g, "v3-kms", Kms, Instr, "", c.clone(), 3, "cannot write instruction files");
    p.p2r_cannot(g, "v3-kms", Kms, Multipart, "", c.clone(), 3, "no multipart upload");
    p.p2r_cannot(g, "v3-kms", Aes256, Meta, "raw AES key", None, 3, "no raw-key keyrings");
    // s3ec writes, Go v4 reads.
    p.r2p(g, false, Kms, Meta, "non-ASCII context", &ALL_SIZES, nonascii.clone(), "v3-kms",
          c.clone(), PASS);
    p.r2p(g, false, Kms, Instr, "non-ASCII context", &INSTR_SIZES, nonascii.clone(), "v3-kms",
          c.clone(), PASS);
    p.r2p(g, false, Kms, Multipart, "5 MiB parts", &[MULTIPART_SIZE], nonascii.clone(),
          "v3-kms", c.clone(), PASS);
    p.r2p(g, true, Kms, Meta, "non-ASCII context", &ALL_SIZES, nonascii.clone(), "v2-kms",
          c.clone(), PASS);
    p.r2p(g, true, Kms, Instr, "non-ASCII context", &INSTR_SIZES, nonascii.clone(), "v2-kms",
          c.clone(), PASS);
    p.r2p(g, false, Kms, Meta, "non-ASCII context", &[17], nonascii.clone(), "v2-kms",
          c.clone(), PASS);
    p.r2p(g, true, Kms, Meta, "non-ASCII context", &[17], nonascii.clone(), "v3-kms",
          c.clone(), Expect::Cannot { exit: 1, says: "not valid for the selected commitment policy" });
    p.r2p(g, false, Aes256, Meta, "non-ASCII matdesc", &[17], Context::new(), "v3-kms", None,
          Expect::Cannot { exit: 1, says: "AES/GCM" });
}

/// What the matrix says of Java's answer to a suffix range.
const JAVA_SUFFIX_RANGE: &str = "amazon-s3-encryption-client-java ignores this range form \
    (RangedGetUtils.getRange matches ^bytes=(\\d+-\\d+|\\d+-)$ only, else null: no range)";

/// amazon-s3-encryption-client-java 3.x / 4.x: KMS, AES and RSA keyrings,
/// V3 (4.x) and V2 writes, metadata and instruction files, both multipart
/// APIs.
#[rustfmt::skip]
fn java_s3ec_cells(p: &mut Plan, j: Peer) {
    use KeyKind::{Aes128, Aes256, Kms, Rsa};
    use Storage::{Instr, Meta, Multipart};
    const PASS: Expect = Expect::Pass;
    let nonascii = non_ascii_ctx();
    let none = Context::new();
    let mp = [17, MULTIPART_SIZE];
    let gcm = (true, Some(TamperSet::Gcm));
    let save = (true, None);
    let v3 = j == Peer::Java4;
    // KMS cells use the ASCII context: Java sends metadata headers in ISO-8859-1, so
    // a non-ASCII context is stored mangled ("Zürich-?") and no reader, Java
    // included, matches it again (interop/README.md). s3ec-written non-ASCII
    // contexts are read fine (the last KMS row below).
    let ascii = ascii_ctx();
    let kinds: [(KeyKind, &'static str, &'static str, &'static str); 3] = [
        (Kms, "v3-kms", "v2-kms", "ASCII context"),
        (Aes256, "v3-aes", "v2-aes", "non-ASCII matdesc"),
        (Rsa, "v3-rsa", "v2-rsa", "non-ASCII matdesc"),
    ];
    for (kind, m3, m2, note) in kinds {
        let c = (kind == Kms).then(|| ascii.clone());
        let put_ctx = if kind == Kms { ascii.clone() } else { none.clone() };
        // Java writes, s3ec reads.
        if v3 {
            p.p2r(j, m3, kind, Meta, note, &ALL_SIZES, c.clone(), ReadPolicy::V3_ONLY,
                  c.clone(), gcm);
            p.p2r(j, m3, kind, Instr, note, &INSTR_SIZES, c.clone(), ReadPolicy::V3_ONLY,
                  c.clone(), gcm);
        } else {
            p.p2r_cannot(j, m3, kind, Meta, note, c.clone(), 3, "has no CommitmentPolicy");
        }
        p.p2r(j, m2, kind, Meta, note, &ALL_SIZES, c.clone(), ReadPolicy::ALLOW_V2, c.clone(),
              gcm);
        p.p2r(j, m2, kind, Instr, note, &INSTR_SIZES, c.clone(), ReadPolicy::ALLOW_V2,
              c.clone(), gcm);
        // s3ec writes, Java reads.
        if v3 {
            p.r2p(j, false, kind, Meta, note, &ALL_SIZES, put_ctx.clone(), m3, c.clone(), PASS);
            p.r2p(j, false, kind, Instr, note, &INSTR_SIZES, put_ctx.clone(), m3, c.clone(),
                  PASS);
        } else {
            // 3.5.0 knows no V3: it finds no V2 envelope and looks for an
            // instruction file, or finds one without x-amz-key-v2.
            p.r2p(j, false, kind, Meta, note, &[17], put_ctx.clone(), m2, c.clone(),
                  Expect::Cannot { exit: 1, says: "Exception encountered while fetching Instruction File" });
            p.r2p(j, false, kind, Instr, note, &[17], put_ctx.clone(), m2, c.clone(),
                  Expect::Cannot { exit: 1, says: "Could not find the encrypted data key" });
        }
        p.r2p(j, true, kind, Meta, note, &ALL_SIZES, put_ctx.clone(), m2, c.clone(), PASS);
        p.r2p(j, true, kind, Instr, note, &INSTR_SIZES, put_ctx.clone(), m2, c.clone(), PASS);
        if v3 {
            p.r2p(j, false, kind, Meta, note, &[17], put_ctx.clone(), m2, c.clone(), PASS);
            p.r2p(j, true, kind, Meta, note, &[17], put_ctx.clone(), m3, c.clone(),
                  Expect::Cannot { exit: 1, says: "Commitment policy violation" });
        }
    }
    let c = Some(ascii.clone());
    p.r2p(j, !v3, Kms, Meta, "non-ASCII context", &[17, 65539], nonascii.clone(),
          if v3 { "v3-kms" } else { "v2-kms" }, Some(nonascii.clone()), PASS);
    p.p2r(j, "v2-aes", Aes128, Meta, "AES-128, non-ASCII matdesc", &[0, 17, 4095], None,
          ReadPolicy::ALLOW_V2, None, save);
    p.r2p(j, true, Aes128, Meta, "AES-128, non-ASCII matdesc", &[17], none.clone(), "v2-aes",
          None, PASS);
    let mpu = if v3 { "v3-kms" } else { "v2-kms" };
    let read = if v3 { ReadPolicy::V3_ONLY } else { ReadPolicy::ALLOW_V2 };
    p.p2r(j, mpu, Kms, Multipart, "high-level (enableMultipartPutObject), 5 MiB parts", &mp,
          c.clone(), read, c.clone(), save);
    p.p2r(j, "v2-kms", Kms, Multipart, "low-level (uploadPart), 5 MiB parts", &mp, c.clone(),
          ReadPolicy::ALLOW_V2, c.clone(), save);
    if let Some(Cell { op: Op::PeerToRust { extra, .. }, note, .. }) = p.cells.last_mut() {
        *extra = &["--low-level"];
        *note = "low-level (uploadPart), 5 MiB parts";
    }
    if v3 {
        p.p2r(j, "v3-kms", Kms, Multipart, "low-level (uploadPart), 5 MiB parts", &mp,
              c.clone(), ReadPolicy::V3_ONLY, c.clone(), save);
        if let Some(Cell { op: Op::PeerToRust { extra, .. }, .. }) = p.cells.last_mut() {
            *extra = &["--low-level"];
        }
    }
    p.r2p(j, !v3, Kms, Multipart, "5 MiB parts", &[MULTIPART_SIZE], ascii.clone(), mpu,
          c.clone(), PASS);
    // reEncryptInstructionFile: the AES-256 object's instruction file re-encrypted
    // with the run's RSA key under a custom suffix (the client takes a custom suffix
    // with an RSA keyring only), and with the run's AES-128 key in place; s3ec reads
    // it with that key (and suffix).
    let aes_mode = if v3 { "v3-aes" } else { "v2-aes" };
    let aes_read = if v3 { ReadPolicy::V3_ONLY } else { ReadPolicy::ALLOW_V2 };
    let rotations: [(&'static str, &'static [&'static str]); 2] = [
        ("reEncryptInstructionFile to RSA, suffix .rotated",
         &["--rotate-rsa-pem", ROTATION_RSA, "--instruction-suffix", ".rotated"]),
        ("reEncryptInstructionFile to AES-128, in place",
         &["--rotate-aes-key-b64", ROTATION_KEY]),
    ];
    for (note, extra_args) in rotations {
        p.p2r(j, aes_mode, Aes256, Instr, note, &[0, 17, 65539], None, aes_read, None,
              (false, None));
        if let Some(Cell { op: Op::PeerToRust { extra, .. }, .. }) = p.cells.last_mut() {
            *extra = extra_args;
        }
    }
    // Ranged gets: every form on the KMS object of the newest format, two forms on
    // the others.
    // Java's RangedGetUtils.getRange takes `bytes=A-B` and `bytes=A-` only; any other
    // form is dropped and the whole object returned.
    let suffix = |spec: &str| if spec.starts_with("bytes=-") {
        Expect::WholeObject { says: JAVA_SUFFIX_RANGE }
    } else {
        PASS
    };
    for spec in RANGES {
        p.ranged(j, mpu, Kms, spec, c.clone(), suffix(spec));
    }
    for (mode, kind) in [("v2-aes", Aes256), ("v2-rsa", Rsa)] {
        for spec in ["bytes=17-4110", "bytes=100-"] {
            p.ranged(j, mode, kind, spec, None, PASS);
        }
    }
    if v3 {
        for spec in ["bytes=17-4110", "bytes=-10"] {
            p.ranged(j, "v2-kms", Kms, spec, c.clone(), suffix(spec));
        }
    }
}

/// aws-java-sdk-s3 1.12.x: AmazonS3EncryptionClientV2 (`v2-*`) and the
/// deprecated AmazonS3EncryptionClient in each CryptoMode (`v1-eo-*`,
/// `v1-ae-*`, `v1-sae-*`), with KMS, AES and RSA materials.
#[rustfmt::skip]
fn java_v1_cells(p: &mut Plan) {
    use KeyKind::{Aes128, Aes256, Kms, Rsa};
    use Storage::{Instr, Meta, Multipart};
    const PASS: Expect = Expect::Pass;
    let j = Peer::JavaV1;
    let ascii = ascii_ctx();
    let none = Context::new();
    let mp = [17, MULTIPART_SIZE];
    let gcm = (true, Some(TamperSet::Gcm));
    let cbc = (true, Some(TamperSet::Cbc));
    let save = (true, None);
    let small = [0, 17, 65539];
    let kinds: [(KeyKind, &'static str, &'static str); 3] =
        [(Kms, "kms", "ASCII context"), (Aes256, "aes", "ASCII matdesc"),
         (Rsa, "rsa", "ASCII matdesc")];
    for (kind, k, note) in kinds {
        let c = (kind == Kms).then(|| ascii.clone());
        let put_ctx = if kind == Kms { ascii.clone() } else { none.clone() };
        let m = |prefix: &str| -> &'static str {
            match (prefix, k) {
                ("v2", "kms") => "v2-kms", ("v2", "aes") => "v2-aes", ("v2", _) => "v2-rsa",
                ("eo", "kms") => "v1-eo-kms", ("eo", "aes") => "v1-eo-aes", ("eo", _) => "v1-eo-rsa",
                ("ae", "kms") => "v1-ae-kms", ("ae", "aes") => "v1-ae-aes", ("ae", _) => "v1-ae-rsa",
                (_, "kms") => "v1-sae-kms", (_, "aes") => "v1-sae-aes", _ => "v1-sae-rsa",
            }
        };
        // Java writes, s3ec reads.
        p.p2r(j, m("v2"), kind, Meta, note, &ALL_SIZES, c.clone(), ReadPolicy::ALLOW_V2,
              c.clone(), gcm);
        p.p2r(j, m("v2"), kind, Instr, note, &INSTR_SIZES, c.clone(), ReadPolicy::ALLOW_V2,
              c.clone(), save);
        let eo_sizes: &[u64] = if kind == Aes256 { &ALL_SIZES } else { &small };
        p.p2r(j, m("eo"), kind, Meta, note, eo_sizes, c.clone(), ReadPolicy::LEGACY_ALL, None,
              cbc);
        p.p2r(j, m("eo"), kind, Instr, note, &[17], c.clone(), ReadPolicy::LEGACY_ALL, None,
              save);
        p.p2r(j, m("ae"), kind, Meta, note, &small, c.clone(), ReadPolicy::LEGACY_WRAP, None,
              gcm);
        p.p2r(j, m("ae"), kind, Instr, note, &[17], c.clone(), ReadPolicy::LEGACY_WRAP, None,
              save);
        p.p2r(j, m("sae"), kind, Meta, note, &[17], c.clone(), ReadPolicy::LEGACY_WRAP, None,
              save);
        // s3ec writes, Java reads.
        p.r2p(j, true, kind, Meta, note, &ALL_SIZES, put_ctx.clone(), m("v2"), c.clone(), PASS);
        p.r2p(j, true, kind, Instr, note, &INSTR_SIZES, put_ctx.clone(), m("v2"), c.clone(),
              PASS);
        p.r2p(j, true, kind, Meta, note, &[17], put_ctx.clone(), m("ae"), c.clone(), PASS);
        p.r2p(j, true, kind, Meta, note, &[17], put_ctx.clone(), m("eo"), c.clone(), PASS);
        p.r2p(j, false, kind, Meta, note, &[17], put_ctx.clone(), m("v2"), c.clone(),
              Expect::Cannot { exit: 1, says: "Unencrypted object found" });
    }
    // A non-ASCII description s3ec wrote is matched (the get is given the same one).
    p.r2p(j, true, Aes256, Meta, "non-ASCII matdesc", &[17, 65539], none.clone(), "v2-aes",
          None, PASS);
    if let Some(Cell { op: Op::RustToPeer { matdesc, .. }, .. }) = p.cells.last_mut() {
        *matdesc = Some(non_ascii_matdesc());
    }
    let c = Some(ascii.clone());
    p.p2r(j, "v1-eo-aes", Aes128, Meta, "AES-128, non-ASCII matdesc", &[0, 17, 4095], None,
          ReadPolicy::LEGACY_ALL, None, save);
    p.p2r(j, "v2-aes", Aes128, Meta, "AES-128, non-ASCII matdesc", &[0, 17, 4095], None,
          ReadPolicy::ALLOW_V2, None, save);
    p.p2r(j, "v2-kms", Kms, Multipart, "uploadPart, 5 MiB parts", &mp, c.clone(),
          ReadPolicy::ALLOW_V2, c.clone(), save);
    p.p2r(j, "v1-eo-kms", Kms, Multipart, "uploadPart, 5 MiB parts", &mp, c.clone(),
          ReadPolicy::LEGACY_ALL, None, save);
    p.r2p(j, true, Kms, Multipart, "5 MiB parts", &[MULTIPART_SIZE], ascii.clone(), "v2-kms",
          c.clone(), PASS);
    p.r2p(j, true, Aes128, Meta, "AES-128, ASCII matdesc", &[17], none, "v2-aes", None, PASS);
    // Ranged gets (CryptoRangeGetMode.ALL): every form GetObjectRequest.withRange
    // takes on V2 kms+context, two on the legacy client's GCM (AESWrap) object
    // (s3ec's ranged gets are for GCM objects only, so no CBC ones).
    for spec in RANGES {
        let expect = if spec.starts_with("bytes=-") {
            Expect::Cannot { exit: 3, says: "withRange takes" }
        } else {
            PASS
        };
        p.ranged(j, "v2-kms", Kms, spec, c.clone(), expect);
    }
    for spec in ["bytes=17-4110", "bytes=100-"] {
        p.ranged(j, "v1-ae-aes", Aes256, spec, None, PASS);
    }
}
