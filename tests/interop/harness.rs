//! Processes for the interop suite: servers that run for the whole suite,
//! clients that run to completion under a time limit, ports of our own,
//! and the checks that a port is listening.
//!
//! Every process is started in a process group of its own and, through
//! `PR_SET_PDEATHSIG`, gets SIGTERM if the suite dies first, so nothing it
//! started outlives it; it stops only processes it started, by group id.

use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Makes `cmd` start in a new process group and receive `SIGTERM` when the
/// thread that starts it exits (the suite's thread, for servers).
pub fn isolate(cmd: &mut Command) -> &mut Command {
    cmd.process_group(0);
    // SAFETY: the closure runs in the child between fork and exec and only
    // calls prctl(2), which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    cmd
}

/// Sends `sig` to the process group led by `pid` (a child we started
/// with `isolate`).
fn signal_group(pid: u32, sig: i32) {
    let Ok(pgid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid only sends a signal to that
    // process group, which is our own child's.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// A free TCP port for a peer to listen on: outside the kernel's range of
/// ephemeral ports, so that no other socket can take it between this
/// choice and the peer's bind (see `common::program::free_port`; the
/// peers are not ours, and may not set `SO_REUSEADDR`, so a port cannot be
/// held for them).
pub fn free_port() -> u16 {
    crate::common::program::free_port()
}

/// Whether something is listening on TCP `port` (any address), read from
/// /proc/net/tcp{,6} so that the check opens no connection.
pub fn is_listening(port: u16) -> bool {
    let want = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|t| {
            t.lines().skip(1).any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() > 3 && cols[1].ends_with(&want) && cols[3] == "0A"
            })
        })
    })
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A long-running process whose output goes to a log file.
pub struct Server {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Server {
    /// Starts `cmd`, its stdout and stderr appended to `log`.
    pub fn start(name: &str, mut cmd: Command, log: PathBuf) -> Result<Server, String> {
        let out =
            File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        isolate(&mut cmd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        Ok(Server {
            name: name.to_string(),
            child: Some(child),
            log,
        })
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Everything the server has printed so far.
    pub fn output(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let mut b = Vec::new();
            let _ = f.read_to_end(&mut b);
            s = String::from_utf8_lossy(&b).into_owned();
        }
        s
    }

    /// `Err` with the exit status and the end of the log once the server
    /// has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        let Some(child) = self.child.as_mut() else {
            return Err(format!("{} was stopped", self.name));
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} exited ({status}); its log ends:\n{}",
                self.name,
                tail(&self.output(), 15)
            )),
            Err(e) => Err(format!("cannot wait for {}: {e}", self.name)),
        }
    }

    /// Waits until the log has a line containing `needle`; returns it.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> Result<String, String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(l) = self.output().lines().find(|l| l.contains(needle)) {
                return Ok(l.to_string());
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(format!(
                    "{} printed no line with {needle:?} within {limit:?}; its log ends:\n{}",
                    self.name,
                    tail(&self.output(), 15)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `port` is listening.
    pub fn wait_listening(&mut self, port: u16, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while !is_listening(port) {
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(format!(
                    "{} is not listening on port {port} after {limit:?}; its log ends:\n{}",
                    self.name,
                    tail(&self.output(), 15)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Sends SIGTERM to the server's process group, waits up to `grace`,
    /// then SIGKILLs the group. Returns the exit status.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let pid = child.id();
        if let Ok(Some(status)) = child.try_wait() {
            signal_group(pid, libc::SIGKILL); // anything it left behind
            return Some(status);
        }
        signal_group(pid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                _ => {
                    signal_group(pid, libc::SIGKILL);
                    break child.wait().ok();
                }
            }
        };
        signal_group(pid, libc::SIGKILL);
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// What a client printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub what: String,
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Run {
    pub fn ok(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    /// A short account of the run for a failure message.
    pub fn describe(&self) -> String {
        let how = if self.timed_out {
            format!(
                "timed out after {:.1}s (killed)",
                self.elapsed.as_secs_f64()
            )
        } else {
            match self.status {
                Some(s) => format!("exited with {s}"),
                None => "could not be waited for".to_string(),
            }
        };
        let (trace, other) = split_trace(&self.stderr);
        let mut s = format!(
            "`{}` {how}\n  stdout (end): {}\n  stderr (end): {}",
            self.what,
            indent(&tail(&self.stdout, 8)),
            indent(&tail(&other, 8))
        );
        if !trace.is_empty() {
            s.push_str(&format!(
                "\n  MUON_TRACE=frm (end): {}",
                indent(&tail(&trace, 6))
            ));
        }
        s
    }

    /// `Ok(self)` if it exited 0, else `Err` describing it.
    pub fn require_ok(self) -> Result<Run, String> {
        if self.ok() {
            Ok(self)
        } else {
            Err(self.describe())
        }
    }
}

/// Whether `line` is one of muon's trace (`MUON_TRACE=frm`): a frame or
/// protocol header (`[c1] -> AMQP header`, `[c1] 0 <- @open ...`: label,
/// channel for a frame, direction) or a transport note (`[c1] connecting
/// to ...`, `connected`, `accepted from ...`, `disconnected: ...`).
fn is_trace_line(line: &str) -> bool {
    // Each line starts with its UTC timestamp (2026-01-02T03:04:05.000006Z).
    let line = match line.split_once(' ') {
        Some((ts, rest)) if ts.ends_with('Z') && ts.contains('T') => rest,
        _ => line,
    };
    let Some((label, rest)) = line.strip_prefix('[').and_then(|l| l.split_once("] ")) else {
        return false;
    };
    if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let frame = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let frame = frame.strip_prefix(' ').unwrap_or(frame);
    frame.starts_with("-> ")
        || frame.starts_with("<- ")
        || rest == "connected"
        || ["connecting to ", "accepted from ", "disconnected: "]
            .iter()
            .any(|p| rest.starts_with(p))
}

/// Splits stderr into muon's frame trace and everything else.
pub fn split_trace(stderr: &str) -> (String, String) {
    let (mut trace, mut other) = (String::new(), String::new());
    for l in stderr.lines() {
        let out = if is_trace_line(l) {
            &mut trace
        } else {
            &mut other
        };
        out.push_str(l);
        out.push('\n');
    }
    (trace, other)
}

fn indent(s: &str) -> String {
    if s.is_empty() {
        return "(nothing)".to_string();
    }
    s.replace('\n', "\n    ")
}

/// A client started in the background; `finish` waits for it.
pub struct Client {
    what: String,
    child: Option<Child>,
    out: PathBuf,
    err: PathBuf,
    started: Instant,
}

impl Client {
    /// Starts `cmd` with output to files in `dir` named after `tag`.
    pub fn start(dir: &Path, tag: &str, mut cmd: Command) -> Result<Client, String> {
        let what = describe_command(&cmd);
        let out = dir.join(format!("{tag}.out"));
        let err = dir.join(format!("{tag}.err"));
        let fo = File::create(&out).map_err(|e| e.to_string())?;
        let fe = File::create(&err).map_err(|e| e.to_string())?;
        let child = isolate(&mut cmd)
            .stdin(Stdio::null())
            .stdout(fo)
            .stderr(fe)
            .spawn()
            .map_err(|e| format!("cannot start `{what}`: {e}"))?;
        Ok(Client {
            what,
            child: Some(child),
            out,
            err,
            started: Instant::now(),
        })
    }

    /// The client's process id while it runs.
    #[allow(dead_code)] // tests/cluster.rs's, not the interop suite's
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the client is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// What the client has written to stderr so far.
    pub fn stderr_now(&self) -> String {
        std::fs::read(&self.err)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Waits for the client to exit, killing its group after `limit`.
    pub fn finish(mut self, limit: Duration) -> Run {
        self.wait_inner(limit, false)
    }

    /// Stops a client that would run forever (a server): SIGTERM, then
    /// SIGKILL; its output is returned.
    pub fn kill(mut self) -> Run {
        self.wait_inner(Duration::ZERO, true)
    }

    fn wait_inner(&mut self, limit: Duration, kill: bool) -> Run {
        let mut child = self.child.take().expect("waited for once");
        let pid = child.id();
        let deadline = self.started + limit;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if !kill && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    timed_out = !kill;
                    signal_group(pid, libc::SIGTERM);
                    let grace = Instant::now() + Duration::from_millis(500);
                    while Instant::now() < grace && matches!(child.try_wait(), Ok(None)) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    signal_group(pid, libc::SIGKILL);
                    break child.wait().ok();
                }
                Err(_) => break None,
            }
        };
        signal_group(pid, libc::SIGKILL);
        Run {
            what: self.what.clone(),
            status,
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
            timed_out,
            elapsed: self.started.elapsed(),
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal_group(c.id(), libc::SIGKILL);
            let _ = c.wait();
        }
    }
}

/// Runs `cmd` to completion within `limit`.
pub fn run(dir: &Path, tag: &str, cmd: Command, limit: Duration) -> Run {
    match Client::start(dir, tag, cmd) {
        Ok(c) => c.finish(limit),
        Err(e) => Run {
            what: tag.to_string(),
            status: None,
            stdout: String::new(),
            stderr: e,
            timed_out: false,
            elapsed: Duration::ZERO,
        },
    }
}

/// The command line, for messages: program name and arguments, with any
/// directory dropped from the program.
pub fn describe_command(cmd: &Command) -> String {
    let prog = Path::new(cmd.get_program())
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut s = prog;
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        let p = Path::new(a.as_ref());
        let a = match p.file_name() {
            Some(n) if a.starts_with('/') && p.exists() => n.to_string_lossy().into_owned(),
            _ => a.into_owned(),
        };
        s.push(' ');
        s.push_str(&a);
    }
    s
}
