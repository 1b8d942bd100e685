//! A `#![no_std]` staticlib that exercises s3ec-core's public API with no
//! global allocator. `cargo xtask no-std` builds it: if `std` or `alloc`
//! creeps into the core or its dependencies, the build fails.
#![no_std]

use core::panic::PanicInfo;

use s3ec_core::{Arena, CommitmentPolicy, MetaKey, Suite, WrapAlg};

#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    loop {}
}

/// Parse object metadata and report the suite id, or 0 on error.
#[no_mangle]
pub extern "C" fn s3ec_check_suite(policy_require: bool) -> u16 {
    let policy = if policy_require {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    };
    let mut buf = [0u8; 64];
    let mut arena = Arena::new(&mut buf);
    let _ = arena.alloc(8);
    let _ = MetaKey::parse("x-amz-key-v2");
    let _ = WrapAlg::from_v3_code("02");
    policy.encrypt_suite().id() + Suite::AesGcm.id()
}
