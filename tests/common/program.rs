//! Running programs under test: a started program whose stdout is collected
//! line by line as it comes (and stderr as text), waited for with a time
//! limit, and killed when dropped; ports for programs to listen on (held
//! for them, or chosen where no other socket takes them) and ports where
//! nothing listens; a process's resident memory; plus the small readers of
//! the examples' output (`{'sequence': N}` lines, "Disconnected" lines).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A started program: its output is collected line by line as it comes, and
/// it is killed when dropped if it is still running.
pub struct Program {
    name: String,
    child: Option<Child>,
    out: Arc<(Mutex<Vec<String>>, Condvar)>,
    err: Arc<Mutex<String>>,
}

impl Program {
    pub fn start(exe: &Path, args: &[&str]) -> Program {
        Program::start_env(exe, args, &[])
    }

    /// Starts `exe` with `args` and the environment variables `env` added.
    pub fn start_env(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Program {
        Program::spawn(exe, args, env, None)
    }

    /// Starts `exe` with `args`, writes `input` to its stdin and closes it.
    pub fn start_input(exe: &Path, args: &[&str], input: &str) -> Program {
        Program::spawn(exe, args, &[], Some(input))
    }

    fn spawn(exe: &Path, args: &[&str], env: &[(&str, &str)], input: Option<&str>) -> Program {
        let mut cmd = Command::new(exe);
        cmd.args(args)
            .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        if let Some(input) = input {
            // Dropping the handle closes the pipe: the program sees EOF.
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(input.as_bytes())
                .unwrap_or_else(|e| panic!("cannot write to {}: {e}", exe.display()));
        }
        let out = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let err = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let o = out.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                o.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                o.1.notify_all();
            }
        });
        let e = err.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]);
                e.lock().unwrap_or_else(|e| e.into_inner()).push_str(&text);
            }
        });
        let name = exe
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        Program {
            name,
            child: Some(child),
            out,
            err,
        }
    }

    /// Names the program in failure messages (the executable's file name
    /// by default).
    pub fn named(mut self, name: &str) -> Program {
        self.name = name.to_owned();
        self
    }

    pub fn lines(&self) -> Vec<String> {
        self.out.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn stderr(&self) -> String {
        self.err.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until the output so far satisfies `done`.
    pub fn wait_output(&self, limit: Duration, what: &str, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + limit;
        let mut lines = self.out.0.lock().unwrap_or_else(|e| e.into_inner());
        while !done(&lines) {
            let now = Instant::now();
            assert!(
                now < deadline,
                "{}: timed out after {limit:?} waiting for {what}; stdout (last 20 lines):\n{}\nstderr:\n{}",
                self.name,
                lines[lines.len().saturating_sub(20)..].join("\n"),
                self.stderr()
            );
            lines = self
                .out
                .1
                .wait_timeout(lines, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits for a line that starts with `prefix` and returns it.
    pub fn wait_line(&self, prefix: &str, limit: Duration) -> String {
        self.wait_output(limit, prefix, |l| l.iter().any(|x| x.starts_with(prefix)));
        self.lines()
            .into_iter()
            .find(|x| x.starts_with(prefix))
            .expect("found above")
    }

    /// The program's process id, while it has not been waited for.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            let pid = i32::try_from(c.id()).expect("a pid fits an i32");
            // SAFETY: sends a signal to our own child process, by its id.
            unsafe { libc::kill(pid, sig) };
        }
    }

    /// Waits for the program to exit (killing it after `limit`, which fails
    /// the test); returns its status, stdout lines and stderr.
    pub fn wait(mut self, limit: Duration) -> (ExitStatus, Vec<String>, String) {
        let mut child = self.child.take().expect("not yet waited for");
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = child.try_wait().expect("can wait for the child") {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "{}: timed out after {limit:?}; stdout (last 20 lines):\n{}\nstderr:\n{}",
                    self.name,
                    tail(&self.lines(), 20),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // The reader threads finish once the pipes close.
        let until = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.err) > 1 || Arc::strong_count(&self.out) > 1 {
            if Instant::now() > until {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        (status, self.lines(), self.stderr())
    }

    /// Waits for a successful exit, with no sanitizer report; returns stdout.
    pub fn success(self, limit: Duration) -> Vec<String> {
        let name = self.name.clone();
        let (status, out, err) = self.wait(limit);
        assert!(
            status.success() && !err.contains("Sanitizer"),
            "{name} failed ({status}); stdout (last 20 lines):\n{}\nstderr:\n{err}",
            tail(&out, 20)
        );
        out
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The last `n` of `lines`, one per line.
pub fn tail(lines: &[String], n: usize) -> String {
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs a program to completion (within `limit`) and asserts exit 0, no
/// sanitizer report, and exactly `expected` on stdout.
pub fn run_exact(
    exe: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    expected: &[&str],
    limit: Duration,
) {
    let out = Program::start_env(exe, args, env).success(limit);
    assert_eq!(
        out,
        expected,
        "{} {args:?}: unexpected output",
        exe.display()
    );
}

/// A TCP port on 127.0.0.1 held for a program under test, without a
/// race: the socket is bound (with `SO_REUSEADDR`) and never listens, so
/// the kernel hands the port to no one else (no `bind` to port 0, no
/// outgoing connection picks a port a socket is bound to), while a
/// program that binds it with `SO_REUSEADDR` itself, as muon's listeners
/// do (mio sets it), can listen on it. Keep it until the program listens
/// (or until the test ends); dropping it releases the port.
///
/// This replaces picking a port by binding port 0 and closing the socket,
/// which leaves the port free for anyone until the program binds it: under
/// load (thousands of connections, each taking a port) another socket can
/// get it first.
pub struct ReservedPort {
    pub port: u16,
    _socket: std::os::fd::OwnedFd,
}

/// A port for a muon listener to bind (see [`ReservedPort`]).
pub fn reserve_port() -> ReservedPort {
    bind_loopback(true, 0).expect("can bind a loopback port")
}

/// A port on 127.0.0.1 where nothing listens and nothing can, while the
/// returned value is kept: a socket is bound to it without `SO_REUSEADDR`
/// and never listens, so connecting to it is refused, and no listener (with
/// or without `SO_REUSEADDR`) can take it.
pub fn refused_port() -> ReservedPort {
    bind_loopback(false, 0).expect("can bind a loopback port")
}

/// A TCP socket bound to 127.0.0.1:`port` (0: the kernel picks one), not
/// listening; with `SO_REUSEADDR` if `reuse`.
fn bind_loopback(reuse: bool, port: u16) -> std::io::Result<ReservedPort> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: socket(2) has no memory arguments; a valid descriptor is
    // owned by the OwnedFd made just below and by nothing else.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    if reuse {
        let one: libc::c_int = 1;
        // SAFETY: a live c_int and its size, on our own socket.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&raw const one).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "SO_REUSEADDR: {}", std::io::Error::last_os_error());
    }
    let mut addr: libc::sockaddr_in = unsafe_zeroed_sockaddr();
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
    addr.sin_port = port.to_be();
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: a live sockaddr_in and its exact size.
    if unsafe { libc::bind(fd, (&raw const addr).cast(), len) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut got = unsafe_zeroed_sockaddr();
    let mut got_len = len;
    // SAFETY: getsockname writes at most got_len bytes into the live `got`.
    let rc = unsafe { libc::getsockname(fd, (&raw mut got).cast(), &raw mut got_len) };
    assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
    Ok(ReservedPort {
        port: u16::from_be(got.sin_port),
        _socket: owned,
    })
}

/// An all-zero `sockaddr_in` (a valid value: it is plain old data).
fn unsafe_zeroed_sockaddr() -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is a C struct of integers, for which all-zero
    // bytes are a valid value.
    unsafe { std::mem::zeroed() }
}

/// A TCP port for a program that may not set `SO_REUSEADDR` (so that a
/// [`ReservedPort`] would keep it out): one outside the kernel's range of
/// ephemeral ports (`/proc/sys/net/ipv4/ip_local_port_range`), which no
/// `bind` to port 0 and no outgoing connection ever takes, that nothing is
/// bound to now (not even a connection in `TIME_WAIT`). Tried in an order of this process's own, so that test
/// programs running at once do not try the same ports.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (low, _) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| {
            let mut it = t.split_whitespace().map(|x| x.parse::<u32>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    // Ports from 10000 up to the ephemeral range (or 16384 of them below
    // 32768 if the range starts too low to leave room).
    let (base, span) = if low >= 10000 + 1024 {
        (10000, low - 10000)
    } else {
        (16384, 16384)
    };
    let start = std::process::id().wrapping_mul(2_654_435_761) % span;
    for _ in 0..span {
        let i = NEXT.fetch_add(7919, Ordering::SeqCst);
        let port = u16::try_from(base + (start + i) % span).expect("a port number");
        // Without SO_REUSEADDR (std's listeners set it), the bind fails
        // if any socket has the port, on 127.0.0.1 or any address.
        if bind_loopback(false, port).is_ok() {
            return port;
        }
    }
    panic!("no free port between {base} and {}", base + span);
}

/// The resident set size (`VmRSS`) of process `pid`, in KiB, if it runs.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The number in an example's `{'sequence': N}` line.
pub fn sequence(line: &str) -> Option<u64> {
    line.strip_prefix("{'sequence': ")?
        .strip_suffix('}')?
        .parse()
        .ok()
}

/// The lines simple_recv prints for messages 1 to `n`.
pub fn sequences(n: u64) -> Vec<String> {
    (1..=n).map(|i| format!("{{'sequence': {i}}}")).collect()
}

/// Counts how often each sequence number was printed.
pub fn tally(lines: &[String]) -> BTreeMap<u64, usize> {
    let mut seen = BTreeMap::new();
    for n in lines.iter().filter_map(|l| sequence(l)) {
        *seen.entry(n).or_insert(0) += 1;
    }
    seen
}

/// How often a reconnecting example said it lost its connection.
pub fn reconnects(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.starts_with("Disconnected"))
        .count()
}
