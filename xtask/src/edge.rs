//! The edge budget (`cargo xtask no-std`): what s3ec-core costs a device.
//!
//! The no-std staticlib (`xtask/no-std-check`) exports one entry per
//! "firmware": `s3ec_edge_encrypt` (fresh data key, AES-GCM wrap, V3
//! envelope, content encryption) and `s3ec_edge_decrypt` (envelope parse,
//! unwrap, commitment, verify, decrypt), and one per streaming call
//! (`s3ec_stream_encrypt`, `s3ec_stream_decrypt`). For each entry the
//! library is linked with section garbage collection rooted at that entry
//! alone (`ld -r --gc-sections -e ENTRY`): what is left is the core's code
//! the entry reaches, nothing of a C library (`memcpy` and friends stay
//! undefined), which gives
//!
//! * code: `.text*` (instructions) and `.rodata*` (tables, strings);
//! * static RAM: `.data*` and `.bss*`;
//! * the worst-case stack depth from the entry: every function's frame read
//!   from its machine code (return address, `push`es, `sub $N, %rsp`),
//!   summed along the deepest path of the call graph taken from the
//!   relocations of `call`/`jmp` instructions (`objdump -dr`). Stable
//!   tools only; indirect calls, if any, are reported, never guessed.
//!
//! The figures are for the host (x86_64) code: this machine has no
//! embedded Rust target installed. Two builds: the default one (AES-NI /
//! VAES and CLMUL kernels plus the portable fallback, picked at run time)
//! and the portable ones alone in their compact forms (`--cfg
//! aes_backend="soft"`, `aes_backend_soft="compact"`,
//! `polyval_backend="soft"`, `sha2_backend="soft"`,
//! `sha2_backend_soft="compact"`): the smallest firmware, the code a
//! microcontroller without crypto instructions would carry.
//!
//! Bytes of state per open stream are `size_of` of the core's streaming
//! types on this host.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use s3ec_core::cipher::backend::{RustCryptoDecrypt, RustCryptoEncrypt, RustCryptoVerify};
use s3ec_core::cipher::content::{ContentEncryption, ContentKey};
use s3ec_core::cipher::gcm::{GcmEncryptor, GcmVerifier, Verified};
use s3ec_core::danger::UnverifiedDecryptor;
use s3ec_core::legacy::CbcDecryptor;

/// Code (text + rodata) target per firmware.
pub(crate) const CODE_TARGET: u64 = 64 * 1024;
/// State target per open stream.
pub(crate) const STATE_TARGET: usize = 2 * 1024;

/// The firmware entries and the streaming-call entries.
const FIRMWARES: [(&str, &str); 2] = [
    ("encrypt-only", "s3ec_edge_encrypt"),
    ("decrypt-only", "s3ec_edge_decrypt"),
];
const STREAMS: [(&str, &str); 2] = [
    (
        "streaming encrypt (new, update, finish)",
        "s3ec_stream_encrypt",
    ),
    (
        "streaming decrypt (verifier, verify, decrypt_at)",
        "s3ec_stream_decrypt",
    ),
];

/// Section sizes of one GC-linked entry.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Sections {
    pub(crate) text: u64,
    pub(crate) rodata: u64,
    pub(crate) data: u64,
    pub(crate) bss: u64,
}

impl Sections {
    pub(crate) fn code(&self) -> u64 {
        self.text + self.rodata
    }
    pub(crate) fn ram(&self) -> u64 {
        self.data + self.bss
    }
}

/// Worst-case stack from an entry.
#[derive(Debug)]
pub(crate) struct Stack {
    pub(crate) bytes: u64,
    pub(crate) path: Vec<String>,
    pub(crate) indirect: BTreeSet<String>,
    pub(crate) recursive: BTreeSet<String>,
}

fn tool(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Link `lib` keeping only what `entry` reaches; returns the object path.
fn gc_link(lib: &Path, entry: &str, dir: &Path) -> Result<PathBuf, String> {
    let out = dir.join(format!("{entry}.o"));
    tool(
        Command::new("ld")
            .args(["-r", "--gc-sections", "-e", entry, "-o"])
            .arg(&out)
            .arg("--whole-archive")
            .arg(lib),
    )?;
    Ok(out)
}

/// Sizes of the allocated sections of `obj`, by kind.
pub(crate) fn sections(obj: &Path) -> Result<Sections, String> {
    let text = tool(Command::new("size").arg("-A").arg(obj))?;
    let mut s = Sections::default();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(name), Some(size)) = (it.next(), it.next()) else {
            continue;
        };
        let Ok(size) = size.parse::<u64>() else {
            continue;
        };
        let is = |p: &str| name == p || name.starts_with(&format!("{p}."));
        if is(".text") {
            s.text += size;
        } else if is(".rodata") || is(".data.rel.ro") {
            s.rodata += size;
        } else if is(".data") {
            s.data += size;
        } else if is(".bss") {
            s.bss += size;
        }
    }
    Ok(s)
}

/// One function's frame and callees, from `objdump -dr`.
#[derive(Default, Debug)]
struct Func {
    frame: u64,
    callees: BTreeSet<String>,
    indirect: bool,
}

/// Frame assumed for a routine outside the object (`memcpy`, `memset`:
/// leaf routines of the C library): its return address.
const EXTERNAL_FRAME: u64 = 8;

/// The symbol a branch's relocation names (`objdump -w` prints it on the
/// instruction's line): `... R_X86_64_PLT32 .text.sym-0x4` gives `sym`.
fn reloc_target(line: &str) -> Option<String> {
    let mut it = line.split_whitespace();
    it.by_ref().find(|t| t.starts_with("R_X86_64_"))?;
    let sym = it.next()?;
    let sym = sym.rsplit_once(['-', '+']).map_or(sym, |(s, _)| s);
    Some(sym.strip_prefix(".text.").unwrap_or(sym).to_string())
}

/// Parse `objdump -drw` output into functions.
fn functions(disasm: &str) -> BTreeMap<String, Func> {
    let mut funcs: BTreeMap<String, Func> = BTreeMap::new();
    let mut cur: Option<String> = None;
    // Registers holding a function's address loaded from the GOT
    // (`mov 0x0(%rip),%r15  R_X86_64_GOTPCREL memset-0x4`): the compiler
    // hoists the load and then calls `*%r15`.
    let mut loaded: BTreeMap<String, String> = BTreeMap::new();
    for line in disasm.lines() {
        let t = line.trim();
        if let Some(name) = t
            .strip_suffix(">:")
            .and_then(|l| l.split_once(" <"))
            .map(|(_, n)| n)
        {
            cur = Some(name.to_string());
            loaded.clear();
            // Return address.
            funcs.entry(name.to_string()).or_default().frame = 8;
            continue;
        }
        let Some(f) = cur.as_ref().and_then(|c| funcs.get_mut(c)) else {
            continue;
        };
        // "addr:\tmnemonic operands [# comment] [reloc]"
        let Some((_, insn)) = t.split_once(":\t") else {
            continue;
        };
        let insn = insn.trim();
        let mut parts = insn.split_whitespace();
        let mnemonic = parts.next().unwrap_or("");
        let operands = parts.next().unwrap_or("");
        let imm = |reg: &str| {
            operands
                .strip_prefix("$0x")
                .and_then(|o| o.strip_suffix(reg))
                .and_then(|h| u64::from_str_radix(h, 16).ok())
        };
        match mnemonic {
            "push" | "pushq" => f.frame += 8,
            "sub" | "subq" => {
                // `sub $N,%rsp`, or `sub $N,%r11` before the loop that
                // probes a large frame and moves %rsp down to %r11.
                if let Some(n) = imm(",%rsp").or_else(|| imm(",%r11")) {
                    f.frame += n;
                }
            }
            "call" | "callq" | "jmp" | "jmpq" => {
                if let Some(sym) = reloc_target(insn) {
                    // A call or tail call to another function (through the
                    // GOT for an external one).
                    f.callees.insert(sym);
                } else if let Some(sym) = operands.strip_prefix('*').and_then(|r| loaded.get(r)) {
                    f.callees.insert(sym.clone());
                } else if operands.starts_with('*') && mnemonic.starts_with("call") {
                    // A function pointer (jump tables inside a function are
                    // `jmp *`, not calls).
                    f.indirect = true;
                }
            }
            "mov" | "movq" if insn.contains("R_X86_64_GOTPCREL") => {
                if let (Some(reg), Some(sym)) = (
                    operands.rsplit_once(',').map(|(_, r)| r.to_string()),
                    reloc_target(insn),
                ) {
                    loaded.insert(reg, sym);
                }
            }
            _ => {}
        }
    }
    // Routines outside the object: leaf frames.
    let external: BTreeSet<String> = funcs
        .values()
        .flat_map(|f| f.callees.iter())
        .filter(|c| !funcs.contains_key(*c))
        .cloned()
        .collect();
    for name in external {
        funcs.insert(
            name,
            Func {
                frame: EXTERNAL_FRAME,
                ..Func::default()
            },
        );
    }
    funcs
}

fn deepest(
    name: &str,
    funcs: &BTreeMap<String, Func>,
    memo: &mut BTreeMap<String, (u64, Vec<String>)>,
    on_path: &mut BTreeSet<String>,
    stack: &mut Stack,
) -> (u64, Vec<String>) {
    if let Some(m) = memo.get(name) {
        return m.clone();
    }
    let Some(f) = funcs.get(name) else {
        return (0, Vec::new());
    };
    if f.indirect {
        stack.indirect.insert(name.to_string());
    }
    on_path.insert(name.to_string());
    let mut best = (0u64, Vec::new());
    for c in &f.callees {
        if on_path.contains(c) {
            stack.recursive.insert(c.clone());
            continue;
        }
        let d = deepest(c, funcs, memo, on_path, stack);
        if d.0 > best.0 {
            best = d;
        }
    }
    on_path.remove(name);
    let mut path = vec![name.to_string()];
    path.extend(best.1);
    let r = (f.frame + best.0, path);
    memo.insert(name.to_string(), r.clone());
    r
}

/// Worst-case stack depth from `entry` in `obj`.
pub(crate) fn stack(obj: &Path, entry: &str) -> Result<Stack, String> {
    let disasm = tool(
        Command::new("objdump")
            .args(["-dr", "--no-show-raw-insn", "-w"])
            .arg(obj),
    )?;
    let funcs = functions(&disasm);
    if !funcs.contains_key(entry) {
        return Err(format!("{entry} not found in {}", obj.display()));
    }
    let mut st = Stack {
        bytes: 0,
        path: Vec::new(),
        indirect: BTreeSet::new(),
        recursive: BTreeSet::new(),
    };
    let (bytes, path) = deepest(
        entry,
        &funcs,
        &mut BTreeMap::new(),
        &mut BTreeSet::new(),
        &mut st,
    );
    st.bytes = bytes;
    st.path = path;
    Ok(st)
}

/// Bytes of state per open stream (this host's layout).
pub(crate) fn state_sizes() -> Vec<(&'static str, usize)> {
    use core::mem::size_of;
    vec![
        (
            "ContentEncryption (encrypt stream + envelope values)",
            size_of::<ContentEncryption>(),
        ),
        ("GcmEncryptor (encrypt stream)", size_of::<GcmEncryptor>()),
        ("GcmVerifier (decrypt pass 1)", size_of::<GcmVerifier>()),
        ("Verified (decrypt pass 2)", size_of::<Verified>()),
        (
            "ContentKey (per-object decrypt key)",
            size_of::<ContentKey>(),
        ),
        (
            "UnverifiedDecryptor (danger, one pass)",
            size_of::<UnverifiedDecryptor>(),
        ),
        ("CbcDecryptor (legacy V1)", size_of::<CbcDecryptor>()),
        (
            "  of which RustCryptoEncrypt",
            size_of::<RustCryptoEncrypt>(),
        ),
        ("  of which RustCryptoVerify", size_of::<RustCryptoVerify>()),
        (
            "  of which RustCryptoDecrypt",
            size_of::<RustCryptoDecrypt>(),
        ),
    ]
}

/// One build's figures.
pub(crate) struct Build {
    pub(crate) name: &'static str,
    pub(crate) firmwares: Vec<(&'static str, Sections, Stack)>,
    pub(crate) streams: Vec<(&'static str, Stack)>,
}

/// Measure the staticlib `lib` (scratch files under `dir`).
pub(crate) fn measure(name: &'static str, lib: &Path, dir: &Path) -> Result<Build, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut firmwares = Vec::new();
    for (label, entry) in FIRMWARES {
        let obj = gc_link(lib, entry, dir)?;
        firmwares.push((label, sections(&obj)?, stack(&obj, entry)?));
    }
    let mut streams = Vec::new();
    for (label, entry) in STREAMS {
        let obj = gc_link(lib, entry, dir)?;
        streams.push((label, stack(&obj, entry)?));
    }
    Ok(Build {
        name,
        firmwares,
        streams,
    })
}

fn kib(b: u64) -> String {
    format!("{:.1} KiB", b as f64 / 1024.0)
}

/// Print the budget, and which targets are missed (a measurement, not a
/// gate: CI prints it, a miss is for the README and the issue).
pub(crate) fn report(builds: &[Build]) -> Result<(), String> {
    println!(
        "edge budget (cargo xtask no-std): x86_64 host code, opt-level \"s\", fat LTO, \
         panic=abort, section GC rooted at each entry, the core's code only; \
         targets: code < {} per firmware, state < {} B per stream",
        kib(CODE_TARGET),
        STATE_TARGET
    );
    let mut missed = Vec::new();
    for b in builds {
        println!("  build: {}", b.name);
        for (label, s, st) in &b.firmwares {
            println!(
                "    {label:<13} code {:>9} (text {}, rodata {})  static RAM {} B (data {}, bss {})  stack {} B",
                kib(s.code()),
                s.text,
                s.rodata,
                s.ram(),
                s.data,
                s.bss,
                st.bytes
            );
            if s.code() >= CODE_TARGET {
                missed.push(format!("{} {label}: code {}", b.name, kib(s.code())));
            }
        }
        for (label, st) in &b.streams {
            println!("    worst-case stack, {label}: {} B", st.bytes);
            if !st.indirect.is_empty() {
                println!(
                    "      (not followed: indirect calls in {} function(s))",
                    st.indirect.len()
                );
            }
            if !st.recursive.is_empty() {
                println!(
                    "      (recursion through {} function(s))",
                    st.recursive.len()
                );
            }
        }
    }
    println!("  state per open stream (size_of):");
    for (label, n) in state_sizes() {
        println!("    {label:<55} {n:>5} B");
        if n >= STATE_TARGET && !label.starts_with(' ') {
            missed.push(format!("{label}: {n} B"));
        }
    }
    if missed.is_empty() {
        println!("  every target met");
    } else {
        println!("  OVER target: {}", missed.join("; "));
    }
    Ok(())
}

/// The C library's entry points measured by [`report_c_abi`].
const C_ABI_ENTRIES: [&str; 8] = [
    "s3ec_encrypt_init_aes",
    "s3ec_encrypt_write_metadata_headers",
    "s3ec_encrypt_update",
    "s3ec_encrypt_finish",
    "s3ec_decrypt_init_aes",
    "s3ec_decrypt_verify_update",
    "s3ec_decrypt_verify_finish",
    "s3ec_decrypt_at",
];

/// Code reached from and worst-case stack of each C ABI call of the
/// bare-metal `libs3ec_c.a` (same method as the core's figures).
pub(crate) fn report_c_abi(lib: &Path, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    println!("  C library (s3ec-c, no std, portable compact backends): per call, code reached and worst-case stack");
    for entry in C_ABI_ENTRIES {
        let obj = gc_link(lib, entry, dir)?;
        let s = sections(&obj)?;
        let st = stack(&obj, entry)?;
        println!(
            "    {entry:<38} code {:>9}  stack {:>6} B{}",
            kib(s.code()),
            st.bytes,
            if st.indirect.is_empty() {
                ""
            } else {
                " (indirect calls not followed)"
            }
        );
    }
    Ok(())
}
