//! Memory and descriptors of a process, from `/proc/<pid>/status` and `/proc/<pid>/fd`.

/// What `/proc` says about one process at one moment.
#[derive(Default, Clone, Copy)]
pub struct ProcStatus {
    /// Resident set size (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Resident anonymous memory (`RssAnon`, the heap and stacks), KiB.
    pub anon_kib: u64,
    /// Peak resident set size (`VmHWM`), KiB.
    pub hwm_kib: u64,
    /// Threads.
    pub threads: u64,
    /// Open file descriptors.
    pub fds: u64,
}

impl ProcStatus {
    /// Reads the process's status; zeros when it is gone.
    pub fn read(pid: u32) -> Self {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Self {
            rss_kib: field("VmRSS:"),
            anon_kib: field("RssAnon:"),
            hwm_kib: field("VmHWM:"),
            threads: field("Threads:"),
            fds: std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64),
        }
    }

    /// One line for the output.
    pub fn line(&self) -> String {
        format!(
            "VmRSS {} KiB, RssAnon {} KiB, VmHWM {} KiB, threads {}, open fds {}",
            self.rss_kib, self.anon_kib, self.hwm_kib, self.threads, self.fds
        )
    }
}
