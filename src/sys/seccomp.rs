//! The seccomp filter every sandboxed job runs under (bwrap's `--seccomp FD`): the system
//! calls that would let an example reach beyond its sandbox or into another process fail with
//! `EPERM` — mounting and namespaces, tracing and reading other processes' memory, kernel
//! modules, keyrings, BPF, `perf_event_open`, `userfaultfd`, handles by inode — and `clone3`
//! fails with `ENOSYS`, so that the C library falls back to `clone`, whose flags the filter can
//! read (no new namespace). Everything else is allowed: the filter is a seat belt behind the
//! dropped capabilities and the user namespace, not an allow-list.

use std::io::{self, Seek, Write};
use std::os::fd::{FromRawFd, OwnedFd};

// struct seccomp_data: nr (u32) at 0, arch (u32) at 4, instruction pointer at 8, args at 16.
const NR: u32 = 0;
const ARCH: u32 = 4;
const ARG0_LOW: u32 = 16;

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const BPF_JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// The namespace flags of `clone`: a process that may not make namespaces may not clone
/// itself into one either.
const CLONE_NAMESPACES: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWCGROUP) as u32;

/// The system calls that fail with `EPERM`.
fn denied() -> Vec<libc::c_long> {
    let mut v = vec![
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_open_tree,
        libc::SYS_move_mount,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_mount_setattr,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_userfaultfd,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_reboot,
        libc::SYS_acct,
        libc::SYS_quotactl,
        libc::SYS_syslog,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_sethostname,
        libc::SYS_setdomainname,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([libc::SYS_iopl, libc::SYS_ioperm]);
    v
}

/// The names of [`denied`]'s calls (without the x86-only `iopl` and `ioperm`), for the
/// container engines' seccomp profile ([`oci_profile`]).
const DENIED_NAMES: &[&str] = &[
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "open_by_handle_at",
    "name_to_handle_at",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
];

/// The same filter as an OCI seccomp profile (the JSON podman and docker read with
/// `--security-opt seccomp=FILE`): everything allowed but the calls of [`denied`] (`EPERM`),
/// `clone` with a namespace flag (`EPERM`), and `clone3` (`ENOSYS`, so that the C library falls
/// back to `clone`). It replaces the engine's default profile, which lets a container make a
/// user namespace.
pub fn oci_profile() -> String {
    let mut names: Vec<&str> = DENIED_NAMES.to_vec();
    #[cfg(target_arch = "x86_64")]
    names.extend(["iopl", "ioperm"]);
    let mut rules = vec![serde_json::json!({
        "names": names,
        "action": "SCMP_ACT_ERRNO",
        "errnoRet": libc::EPERM,
    })];
    rules.push(serde_json::json!({
        "names": ["clone3"],
        "action": "SCMP_ACT_ERRNO",
        "errnoRet": libc::ENOSYS,
    }));
    for bit in 0..32 {
        let flag = 1u32 << bit;
        if CLONE_NAMESPACES & flag != 0 {
            rules.push(serde_json::json!({
                "names": ["clone"],
                "action": "SCMP_ACT_ERRNO",
                "errnoRet": libc::EPERM,
                "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}],
            }));
        }
    }
    serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": rules,
    })
    .to_string()
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: usize, jf: usize) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: jt as u8,
        jf: jf as u8,
        k,
    }
}

/// The filter, as the array of `sock_filter` that bwrap reads.
pub fn program() -> Vec<libc::sock_filter> {
    let denied = denied();
    let mut p = vec![
        stmt(BPF_LD_W_ABS, ARCH),
        // Another architecture's calls (32-bit programs) have other numbers: refused.
        jump(BPF_JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(BPF_RET_K, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        stmt(BPF_LD_W_ABS, NR),
    ];
    // The tail, after the checks: [clone flags check (2)], ALLOW, DENY, ENOSYS.
    // Each check jumps forward to DENY; indices are filled in once the length is known.
    let checks_start = p.len();
    #[cfg(target_arch = "x86_64")]
    p.push(jump(BPF_JGE_K, 0x4000_0000, 0, 0)); // the x32 ABI: refused
    for nr in &denied {
        p.push(jump(BPF_JEQ_K, *nr as u32, 0, 0));
    }
    let clone3 = p.len();
    p.push(jump(BPF_JEQ_K, libc::SYS_clone3 as u32, 0, 0));
    let clone = p.len();
    p.push(jump(BPF_JEQ_K, libc::SYS_clone as u32, 0, 0));
    let allow_early = p.len();
    p.push(stmt(BPF_RET_K, libc::SECCOMP_RET_ALLOW));
    let flags = p.len();
    p.push(stmt(BPF_LD_W_ABS, ARG0_LOW));
    let jset = p.len();
    p.push(jump(BPF_JSET_K, CLONE_NAMESPACES, 0, 0));
    let allow = p.len();
    p.push(stmt(BPF_RET_K, libc::SECCOMP_RET_ALLOW));
    let deny = p.len();
    p.push(stmt(
        BPF_RET_K,
        libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
    ));
    let enosys = p.len();
    p.push(stmt(
        BPF_RET_K,
        libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
    ));
    for (i, ins) in p.iter_mut().enumerate().take(clone3).skip(checks_start) {
        ins.jt = (deny - i - 1) as u8;
    }
    p[clone3].jt = (enosys - clone3 - 1) as u8;
    p[clone].jt = (flags - clone - 1) as u8;
    debug_assert_eq!(allow_early, clone + 1);
    p[jset].jt = (deny - jset - 1) as u8;
    p[jset].jf = (allow - jset - 1) as u8;
    p
}

/// The filter in the bytes bwrap reads from `--seccomp FD`.
pub fn bytes() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        program()
            .iter()
            .flat_map(|f| {
                let mut b = Vec::with_capacity(8);
                b.extend_from_slice(&f.code.to_ne_bytes());
                b.push(f.jt);
                b.push(f.jf);
                b.extend_from_slice(&f.k.to_ne_bytes());
                b
            })
            .collect()
    })
}

/// A fresh descriptor holding `data`, read from its start (one per use: bwrap reads it to its
/// end and closes it, and descriptors shared between spawns would share the offset).
/// Close-on-exec: the spawn clears that flag in the child, for bwrap alone.
pub(crate) fn memfd_with(data: &[u8]) -> io::Result<OwnedFd> {
    // The system call itself, not glibc's wrapper (glibc 2.27+): the binary of the wheel links
    // only symbols of glibc 2.17 (manylinux2014), and Linux has had the call since 3.17.
    // SAFETY: a valid C string; the descriptor returned is ours alone.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_memfd_create,
            c"docmatrix-seccomp".as_ptr(),
            libc::MFD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::other("memfd_create: bad descriptor"))?;
    // SAFETY: a fresh descriptor we own.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(owned);
    file.write_all(data)?;
    file.rewind()?;
    Ok(OwnedFd::from(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jump_lands_inside_the_program_and_it_ends_in_returns() {
        let p = program();
        for (i, ins) in p.iter().enumerate() {
            if ins.code & 0x07 == 0x05 {
                assert!(i + 1 + (ins.jt as usize) < p.len(), "jt of {i}");
                assert!(i + 1 + (ins.jf as usize) < p.len(), "jf of {i}");
            }
        }
        assert_eq!(p.last().map(|i| i.code), Some(BPF_RET_K));
        assert_eq!(bytes().len(), p.len() * 8);
        assert!(p.len() < 255, "jumps are one byte");
    }

    #[test]
    fn the_containers_profile_names_every_denied_call() {
        let mut expected = DENIED_NAMES.len();
        if cfg!(target_arch = "x86_64") {
            expected += 2;
        }
        assert_eq!(denied().len(), expected);
        let profile: serde_json::Value = serde_json::from_str(&oci_profile()).unwrap();
        let first = &profile["syscalls"][0]["names"];
        assert_eq!(first.as_array().map(Vec::len), Some(expected));
        assert!(first.as_array().unwrap().iter().any(|n| n == "unshare"));
        // One clone rule per namespace flag.
        let clones = profile["syscalls"].as_array().unwrap().iter();
        let n = clones.filter(|r| r["names"][0] == "clone").count();
        assert_eq!(n as u32, CLONE_NAMESPACES.count_ones());
    }
}
