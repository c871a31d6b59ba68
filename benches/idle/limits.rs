//! The OS limits the benchmark needs: open files per process, the ephemeral port range, and
//! which loopback source address each client socket uses. Each function says what it did (or
//! could not do) in a note that the output prints.

use std::net::{IpAddr, Ipv4Addr};

use crate::common::param;

/// File descriptors kept free for everything that is not a benchmark connection.
pub const FD_SLACK: u64 = 1024;
/// Ephemeral ports left free on each source address for other traffic.
pub const PORT_MARGIN: u64 = 3000;

const PORT_RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";

/// The open-file limit after trying to raise it.
pub struct Limits {
    /// The soft limit now in force (children inherit it).
    pub soft: u64,
    /// What was tried and what came of it.
    pub note: String,
}

/// Raises this process's open-file limit towards `want`: the soft limit up to the hard one, and
/// the hard one too if this is root with `CAP_SYS_RESOURCE`.
pub fn raise_fd_limit(want: u64) -> Limits {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    let (soft0, hard0) = (limit.rlim_cur, limit.rlim_max);
    let mut note = format!("fd limit before: soft {soft0}, hard {hard0}");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if hard0 < want {
        if root {
            let raised = libc::rlimit {
                rlim_cur: want,
                rlim_max: want,
            };
            // SAFETY: setrlimit reads the struct we own.
            let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
            if rc == 0 {
                note.push_str(&format!(
                    "; raised the hard limit to {want} (running as root)"
                ));
            } else {
                note.push_str(&format!(
                    "; raising the hard limit to {want} as root failed: {} (no CAP_SYS_RESOURCE here?)",
                    std::io::Error::last_os_error()
                ));
            }
        } else {
            note.push_str(&format!(
                "; the hard limit is below {want} and this is not root"
            ));
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    let target = want.min(limit.rlim_max);
    if limit.rlim_cur < target {
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        unsafe {
            libc::setrlimit(libc::RLIMIT_NOFILE, &raised);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    note.push_str(&format!(
        "; now: soft {}, hard {} (child processes inherit it)",
        limit.rlim_cur, limit.rlim_max
    ));
    Limits {
        soft: limit.rlim_cur,
        note,
    }
}

/// `fs.nr_open`, the ceiling no process's hard limit can pass, for the output.
pub fn nr_open() -> String {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into())
}

fn read_port_range() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(PORT_RANGE).ok()?;
    let mut parts = text.split_whitespace().filter_map(|v| v.parse().ok());
    match (parts.next(), parts.next()) {
        (Some(low), Some(high)) if high > low => Some((low, high)),
        _ => None,
    }
}

/// The ephemeral port range, widened for the run if asked; puts the original back on drop so a
/// shared machine keeps its setting.
pub struct PortRange {
    /// Ports in the range now.
    pub ports: u64,
    /// What was found and done.
    pub note: String,
    restore: Option<String>,
}

impl PortRange {
    /// Widens `net.ipv4.ip_local_port_range` to `wanted` ("low high") when that is wider than
    /// the current range; `None` only reads it.
    pub fn widen(wanted: Option<&str>) -> Self {
        let before = read_port_range();
        let before_text = before.map_or("unreadable".to_owned(), |(l, h)| format!("{l} {h}"));
        let mut note = format!("net.ipv4.ip_local_port_range before: {before_text}");
        let mut restore = None;
        let wanted_pair = wanted.and_then(|w| {
            let mut parts = w.split_whitespace().filter_map(|v| v.parse::<u64>().ok());
            match (parts.next(), parts.next()) {
                (Some(low), Some(high)) if high > low && low >= 1024 && high <= 65535 => {
                    Some((low, high))
                }
                _ => None,
            }
        });
        match (before, wanted_pair) {
            (Some((low, high)), Some((want_low, want_high)))
                if want_high - want_low > high - low =>
            {
                match std::fs::write(PORT_RANGE, format!("{want_low} {want_high}")) {
                    Ok(()) => {
                        note.push_str(&format!(
                            "; widened to {want_low} {want_high} for this run (restored at the end)"
                        ));
                        restore = Some(format!("{low} {high}"));
                    }
                    Err(e) => note.push_str(&format!(
                        "; widening it to {want_low} {want_high} failed: {e}"
                    )),
                }
            }
            (_, Some(_)) => note.push_str("; already at least as wide as asked: left alone"),
            (_, None) => note.push_str("; left alone"),
        }
        let ports = read_port_range().map_or(28_232, |(low, high)| high - low + 1);
        Self {
            ports,
            note,
            restore,
        }
    }
}

impl Drop for PortRange {
    fn drop(&mut self) {
        if let Some(original) = self.restore.take() {
            match std::fs::write(PORT_RANGE, &original) {
                Ok(()) => println!("net.ipv4.ip_local_port_range restored to {original}"),
                Err(e) => {
                    println!("restoring net.ipv4.ip_local_port_range to {original} failed: {e}")
                }
            }
        }
    }
}

/// Which loopback address each client socket binds to.
#[derive(Clone, Copy)]
pub struct Sources {
    /// Source addresses in use (127.0.0.2 onwards); 0 = kernel-chosen 127.0.0.1.
    pub addresses: u64,
    /// Connections budgeted per source address.
    pub per_address: u64,
}

impl Sources {
    /// Enough source addresses for `k` connections given `ports` ephemeral ports per address
    /// (less a margin, or `IDLE_PORTS_PER_ADDRESS`); `force` binds explicitly even when one
    /// address would do (the multi-node mode leaves 127.0.0.1's ports to the rest of the machine).
    pub fn plan(k: u64, ports: u64, force: bool) -> (Self, String) {
        let per_address = param("IDLE_PORTS_PER_ADDRESS", ports.saturating_sub(PORT_MARGIN)).max(1);
        if k <= per_address && !force {
            let note = format!(
                "source address: 127.0.0.1 only (kernel-chosen ports; {ports} ephemeral ports, {k} needed)"
            );
            return (
                Self {
                    addresses: 0,
                    per_address,
                },
                note,
            );
        }
        let addresses = k.div_ceil(per_address).clamp(1, 250);
        let note = format!(
            "source addresses: 127.0.0.2 .. 127.0.0.{} (at most {per_address} connections each; {ports} ephemeral ports per address); client sockets bind before connect (IP_BIND_ADDRESS_NO_PORT, so a port is only unique per source/destination pair)",
            addresses + 1
        );
        (
            Self {
                addresses,
                per_address,
            },
            note,
        )
    }

    /// The source of connection `i` (0-based, over the whole run): round robin over the
    /// addresses, so none holds more than its share.
    pub fn for_index(&self, i: u64) -> Option<IpAddr> {
        (self.addresses > 0).then(|| {
            let n = (2 + i % self.addresses).min(254) as u8;
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
        })
    }
}
