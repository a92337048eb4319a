//! Facts about this host: its name (worker names, reports), the cores this process may
//! use (the default worker counts), and the machine a trace or a report was made on, as
//! a reader needs it to judge the numbers: the host, the cores, the CPU model, the
//! kernel and the memory.

use std::num::NonZeroUsize;

/// This host's name, for worker names and reports.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: a valid buffer and its length.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".to_string();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The cores this process may use (at least 1).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Where a hunt or a race ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Machine {
    /// The host name.
    pub host: String,
    /// Cores this process may use.
    pub cores: usize,
    /// The CPU model (`model name` in /proc/cpuinfo), or empty.
    pub cpu: String,
    /// The kernel (`uname -sr`).
    pub kernel: String,
    /// Memory in bytes (`MemTotal` in /proc/meminfo), or 0.
    pub memory_bytes: u64,
}

impl Machine {
    /// This machine, read from /proc and `uname`; what cannot be read is left empty.
    pub fn this() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            host: hostname(),
            cores: cores(),
            cpu: cpu_model(&cpuinfo),
            kernel: kernel(),
            memory_bytes: mem_total(&meminfo),
        }
    }

    /// One line: `4 cores, Intel Xeon ..., 23.4 GiB, Linux 6.1.0 (host)`.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} cores", self.cores)];
        if !self.cpu.is_empty() {
            parts.push(self.cpu.clone());
        }
        if self.memory_bytes > 0 {
            parts.push(format!(
                "{:.1} GiB of memory",
                self.memory_bytes as f64 / (1u64 << 30) as f64
            ));
        }
        if !self.kernel.is_empty() {
            parts.push(self.kernel.clone());
        }
        let mut s = parts.join(", ");
        if !self.host.is_empty() {
            s.push_str(&format!(" (host {})", self.host));
        }
        s
    }
}

/// The first `model name` of a /proc/cpuinfo (ARM kernels may name none).
fn cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == "model name")
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `MemTotal` of a /proc/meminfo, in bytes.
fn mem_total(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn kernel() -> String {
    // SAFETY: an all-zero utsname is a valid out-value for uname.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!("{} {}", field(&u.sysname), field(&u.release))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read() {
        let cpu = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R)  Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(cpu_model(cpu), "Intel(R) Xeon(R) CPU @ 2.20GHz");
        assert_eq!(cpu_model("processor : 0\n"), "");
        assert_eq!(
            mem_total("MemTotal:       24000000 kB\nMemFree: 1 kB\n"),
            24_576_000_000
        );
        assert_eq!(mem_total(""), 0);
        let m = Machine::this();
        assert!(m.cores >= 1);
        assert!(m.kernel.starts_with("Linux "), "{m:?}");
        assert!(m.describe().contains("cores"));
    }
}
