//! A RabbitMQ cluster losing nodes: muon's `simple_send` and `simple_recv`
//! (examples-c, with a failover list of the three nodes in `-a`) move a
//! run of messages through a quorum queue while the node each of them is
//! connected to is killed (`kill -9` of that node's Erlang VM) and
//! restarted, rejoining the cluster while the traffic runs. Every sequence
//! number must arrive; duplicates are counted and reported.
//!
//! The cluster is private: three nodes of the installed rabbitmq-server
//! (3.10) with their own node names, AMQP and distribution ports, one epmd
//! of their own on a port of its own, data and log directories under the
//! test's scratch directory, formed by classic-config peer discovery, the
//! AMQP 1.0 plugin on, and the quorum queue `cluster-q` declared (by
//! importing a definitions file) once the three are up, so that it has a
//! member on each. Only processes the test started are ever signalled: the
//! node killed is the Erlang VM whose pid its own pid file names, checked
//! against its command line first.
//!
//! `MUON_CLUSTER_MESSAGES` sets the run's length (default 6,000, the CI
//! slice; `scripts/cluster` runs 100,000). The sender always runs with
//! `MUON_TRACE=frm` (the test counts its transfers to kill its node
//! mid-run); `MUON_CLUSTER_TRACE=1` traces the receiver too.
//! `MUON_CLUSTER_KEEP=1` keeps the scratch directory (every node's log, the
//! clients' output and traces).

mod common;
#[allow(dead_code)]
#[path = "interop/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "interop/peers.rs"]
mod peers;

use harness::{Client, Server, free_port, tail};
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The queue, declared as a quorum queue on all three nodes.
const QUEUE: &str = "cluster-q";
/// How the AMQP 1.0 plugin of RabbitMQ 3.10 names an existing queue (for
/// sending: the default exchange with the queue's name as routing key; for
/// receiving: that queue), without declaring it.
const ADDRESS: &str = "/amq/queue/cluster-q";
const NODES: [&str; 3] = ["a", "b", "c"];
/// A node's boot, on a loaded 2-core machine.
const BOOT_LIMIT: Duration = Duration::from_secs(120);

/// One node of the cluster.
struct Node {
    name: String,
    amqp: u16,
    dist: u16,
    dir: PathBuf,
    server: Option<Server>,
    /// How many times it was started (each start has a log of its own).
    starts: u32,
}

struct Cluster {
    dir: PathBuf,
    epmd_port: u16,
    epmd: Option<Server>,
    nodes: Vec<Node>,
}

impl Cluster {
    /// Starts epmd, node a, then b and c together (they join a through
    /// classic-config peer discovery), and declares the quorum queue.
    fn start(dir: &Path) -> Result<Cluster, String> {
        let epmd_port = free_port();
        let tag = std::process::id();
        let nodes: Vec<Node> = NODES
            .iter()
            .map(|n| Node {
                name: format!("muon-cluster-{tag}-{n}@localhost"),
                amqp: free_port(),
                dist: free_port(),
                dir: dir.join(n),
                server: None,
                starts: 0,
            })
            .collect();
        let mut c = Cluster {
            dir: dir.to_path_buf(),
            epmd_port,
            epmd: None,
            nodes,
        };
        for i in 0..c.nodes.len() {
            c.configure(i)?;
        }
        let mut cmd = Command::new("epmd");
        cmd.args(["-port", &epmd_port.to_string()]);
        let e = c
            .epmd
            .insert(Server::start("epmd", cmd, dir.join("epmd.log"))?);
        e.wait_listening(epmd_port, Duration::from_secs(10))?;
        c.start_node(0)?;
        c.wait_node(0, BOOT_LIMIT)?;
        c.start_node(1)?;
        c.start_node(2)?;
        c.wait_node(1, BOOT_LIMIT)?;
        c.wait_node(2, BOOT_LIMIT)?;
        let defs = dir.join("queue.json");
        std::fs::write(
            &defs,
            format!(
                r#"{{"queues": [{{"name": "{QUEUE}", "vhost": "/", "durable": true,
                   "auto_delete": false, "arguments": {{"x-queue-type": "quorum"}}}}]}}"#
            ),
        )
        .map_err(|e| e.to_string())?;
        c.ctl(
            0,
            "rabbitmqctl",
            &["import_definitions", &defs.display().to_string()],
        )?;
        // The import is asynchronous: wait for the queue's three members.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match c.members(0) {
                Ok(m) if m.len() == 3 => break,
                r if Instant::now() > deadline => {
                    return Err(format!("the quorum queue has not three members: {r:?}"));
                }
                _ => std::thread::sleep(Duration::from_millis(500)),
            }
        }
        Ok(c)
    }

    /// Writes node `i`'s configuration, plugins and Erlang cookie.
    fn configure(&self, i: usize) -> Result<(), String> {
        let n = &self.nodes[i];
        for sub in ["home", "mnesia", "log"] {
            std::fs::create_dir_all(n.dir.join(sub)).map_err(|e| e.to_string())?;
        }
        let mut conf = format!(
            "listeners.tcp.1 = 127.0.0.1:{}\n\
             loopback_users.guest = true\n\
             disk_free_limit.absolute = 1MB\n\
             log.console = false\n\
             log.file.level = info\n\
             cluster_formation.peer_discovery_backend = classic_config\n",
            n.amqp
        );
        for (k, m) in self.nodes.iter().enumerate() {
            conf.push_str(&format!(
                "cluster_formation.classic_config.nodes.{} = {}\n",
                k + 1,
                m.name
            ));
        }
        let cookie = n.dir.join("home/.erlang.cookie");
        let files = [
            (n.dir.join("rabbitmq.conf"), conf),
            (n.dir.join("rabbitmq-env.conf"), String::new()),
            (
                n.dir.join("enabled_plugins"),
                "[rabbitmq_amqp1_0].\n".into(),
            ),
            (
                cookie.clone(),
                format!("muon-cluster-{}", std::process::id()),
            ),
        ];
        for (path, text) in files {
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o400))
            .map_err(|e| e.to_string())
    }

    fn env(&self, i: usize, cmd: &mut Command) {
        let n = &self.nodes[i];
        peers::rabbit_env(cmd, &n.dir, &n.name, n.amqp, n.dist, self.epmd_port);
    }

    /// Starts node `i` (again); `wait_node` waits for it.
    fn start_node(&mut self, i: usize) -> Result<(), String> {
        let mut cmd = Command::new(Path::new(peers::RABBITMQ_BIN).join("rabbitmq-server"));
        self.env(i, &mut cmd);
        let n = &mut self.nodes[i];
        n.starts += 1;
        let log = n.dir.join(format!("server-{}.out", n.starts));
        n.server = Some(Server::start(&n.name, cmd, log)?);
        Ok(())
    }

    /// Whether node `i`'s last start has completed; `Err` if it died.
    fn node_up(&mut self, i: usize) -> Result<bool, String> {
        let n = &mut self.nodes[i];
        let s = n.server.as_mut().ok_or("not started")?;
        s.check_alive()?;
        Ok(s.output().contains("completed with") && harness::is_listening(n.amqp))
    }

    fn wait_node(&mut self, i: usize, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while !self.node_up(i)? {
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not start within {limit:?}; its log ends:\n{}",
                    self.nodes[i].name,
                    self.log_tail(i, 15)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    fn log_tail(&self, i: usize, lines: usize) -> String {
        let n = &self.nodes[i];
        let log = n.dir.join("log").join(format!("{}.log", n.name));
        tail(&std::fs::read_to_string(log).unwrap_or_default(), lines)
    }

    /// Runs a RabbitMQ command-line tool against node `i`.
    fn ctl(&self, i: usize, tool: &str, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(Path::new(peers::RABBITMQ_BIN).join(tool));
        self.env(i, &mut cmd);
        cmd.args(["-n", &self.nodes[i].name]).args(args);
        let r = harness::run(&self.dir, tool, cmd, Duration::from_secs(90));
        r.require_ok().map(|r| r.stdout)
    }

    /// The quorum queue's members, as node `i` sees them: (node, raft
    /// state) for each.
    fn members(&self, i: usize) -> Result<Vec<(String, String)>, String> {
        let out = self.ctl(
            i,
            "rabbitmq-queues",
            &["quorum_status", QUEUE, "--formatter", "json"],
        )?;
        // [{"Node Name":"x@localhost","Raft State":"leader",...},...]
        let field = |obj: &str, key: &str| {
            obj.split(&format!("\"{key}\":\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_string)
        };
        Ok(out
            .split('{')
            .skip(1)
            .filter_map(|o| Some((field(o, "Node Name")?, field(o, "Raft State")?)))
            .collect())
    }

    /// The OS process id of node `i`'s Erlang VM: the one its pid file
    /// names, if that process is a BEAM started with this node's home.
    fn beam_pid(&self, i: usize) -> Result<i32, String> {
        let n = &self.nodes[i];
        let file = n.dir.join("rabbit.pid");
        let pid: i32 = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?
            .trim()
            .parse()
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        // The VM's command line names the node's own home directory.
        let home = format!("-home {} ", n.dir.join("home").display());
        if !cmdline.contains("beam") || !cmdline.contains(&home) {
            return Err(format!(
                "pid {pid} of {} is not its Erlang VM ({cmdline:?})",
                n.name
            ));
        }
        Ok(pid)
    }

    /// `kill -9` of node `i`'s Erlang VM; waits until its start script
    /// has seen it die.
    fn kill9(&mut self, i: usize) -> Result<i32, String> {
        let pid = self.beam_pid(i)?;
        // SAFETY: kill(2) on a pid checked above to be our node's VM.
        if unsafe { libc::kill(pid, libc::SIGKILL) } != 0 {
            return Err(format!(
                "kill -9 {pid}: {}",
                std::io::Error::last_os_error()
            ));
        }
        let s = self.nodes[i].server.as_mut().ok_or("not started")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while s.check_alive().is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        // Whatever of the node's process group is left (erl_child_setup).
        s.stop(Duration::ZERO);
        Ok(pid)
    }

    fn node_of_port(&self, port: u16) -> Option<usize> {
        self.nodes.iter().position(|n| n.amqp == port)
    }

    /// The nodes' URLs as a failover list for `-a`, starting at node
    /// `first` (the address is the first URL's).
    fn urls(&self, first: usize) -> String {
        (0..self.nodes.len())
            .map(|k| {
                let n = &self.nodes[(first + k) % self.nodes.len()];
                if k == 0 {
                    format!("127.0.0.1:{}/{ADDRESS}", n.amqp)
                } else {
                    format!("127.0.0.1:{}", n.amqp)
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // All nodes at once (each is its own process group, ours).
        std::thread::scope(|s| {
            for n in &mut self.nodes {
                if let Some(mut srv) = n.server.take() {
                    s.spawn(move || srv.stop(Duration::from_secs(15)));
                }
            }
        });
        if let Some(mut e) = self.epmd.take() {
            e.stop(Duration::from_secs(5));
        }
    }
}

/// The remote ports of process `pid`'s established TCP connections.
fn connected_ports(pid: u32) -> Vec<u16> {
    let mut inodes = HashSet::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(t) = std::fs::read_link(fd.path()) {
                let t = t.to_string_lossy().into_owned();
                if let Some(i) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    inodes.insert(i.to_string());
                }
            }
        }
    }
    let mut ports = Vec::new();
    for f in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{f}")).unwrap_or_default();
        for l in text.lines().skip(1) {
            let c: Vec<&str> = l.split_whitespace().collect();
            if c.len() > 9
                && c[3] == "01"
                && inodes.contains(c[9])
                && let Some(p) = c[2].rsplit(':').next()
                && let Ok(p) = u16::from_str_radix(p, 16)
            {
                ports.push(p);
            }
        }
    }
    ports
}

/// What the receiver has printed so far, read as it grows.
struct Received {
    file: PathBuf,
    offset: u64,
    partial: String,
    /// Times each sequence number arrived (index n for message n).
    seen: Vec<u32>,
    total: u64,
    distinct: u64,
    /// Lines that are not a message ("Disconnected, reconnecting..." ...).
    other: Vec<String>,
}

impl Received {
    fn new(file: PathBuf, n: usize) -> Received {
        Received {
            file,
            offset: 0,
            partial: String::new(),
            seen: vec![0; n + 1],
            total: 0,
            distinct: 0,
            other: Vec::new(),
        }
    }

    fn update(&mut self) {
        let Ok(mut f) = std::fs::File::open(&self.file) else {
            return;
        };
        let mut buf = String::new();
        if f.seek(SeekFrom::Start(self.offset)).is_err() || f.read_to_string(&mut buf).is_err() {
            return;
        }
        self.offset += buf.len() as u64;
        self.partial.push_str(&buf);
        let Some(end) = self.partial.rfind('\n') else {
            return;
        };
        let complete: String = self.partial.drain(..=end).collect();
        for l in complete.lines() {
            // {'sequence': 17}
            let n = l
                .strip_prefix("{'sequence': ")
                .and_then(|r| r.strip_suffix('}'))
                .and_then(|n| n.parse::<usize>().ok());
            match n {
                Some(n) if n >= 1 && n < self.seen.len() => {
                    self.total += 1;
                    self.seen[n] += 1;
                    if self.seen[n] == 1 {
                        self.distinct += 1;
                    }
                }
                _ => self.other.push(l.to_string()),
            }
        }
    }

    fn missing(&self) -> Vec<usize> {
        (1..self.seen.len())
            .filter(|&n| self.seen[n] == 0)
            .collect()
    }
}

/// A running example and where it is connected.
/// Counts the lines of a growing file that contain a text.
struct Counter {
    file: PathBuf,
    needle: &'static str,
    offset: u64,
    partial: String,
    count: u64,
}

impl Counter {
    fn new(file: PathBuf, needle: &'static str) -> Counter {
        Counter {
            file,
            needle,
            offset: 0,
            partial: String::new(),
            count: 0,
        }
    }

    fn update(&mut self) -> u64 {
        if let Ok(mut f) = std::fs::File::open(&self.file) {
            let mut buf = Vec::new();
            if f.seek(SeekFrom::Start(self.offset)).is_ok() && f.read_to_end(&mut buf).is_ok() {
                self.offset += buf.len() as u64;
                self.partial.push_str(&String::from_utf8_lossy(&buf));
                if let Some(end) = self.partial.rfind('\n') {
                    let complete: String = self.partial.drain(..=end).collect();
                    self.count +=
                        complete.lines().filter(|l| l.contains(self.needle)).count() as u64;
                }
            }
        }
        self.count
    }
}

/// A running example.
struct Peer {
    client: Client,
    pid: u32,
}

/// The node whose AMQP port process `pid` is connected to.
fn node_of(c: &Cluster, pid: u32) -> Option<usize> {
    connected_ports(pid)
        .into_iter()
        .find_map(|p| c.node_of_port(p))
}

/// A kill and how the clients got over it.
struct Kill {
    node: usize,
    of: &'static str,
    at: Instant,
    /// Per client on that node: the node it reconnected to, and when.
    moved: Vec<(&'static str, Option<(usize, Instant)>)>,
    /// Messages reaching the receiver after its reconnection (receiver's
    /// kill only).
    flowing: Option<Instant>,
    received_at_kill: u64,
    restarted: Option<Instant>,
    up: Option<Instant>,
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn scratch() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("can create the scratch directory");
    dir
}

/// The whole run: the cluster formed; `simple_send` started with the
/// three nodes' URLs (node a first) and `MUON_TRACE=frm`, whose transfers
/// the test counts; once it has sent a third, node a (its node, and the
/// queue's first leader) is killed and restarted at once; once node a is
/// back in the cluster, `simple_recv` starts (node b first) and, once it
/// has a third of the messages, its node is killed and restarted. The
/// receiver starts late so that its kill is always mid-run: the sender
/// (credit from RabbitMQ) is several times faster than the receiver
/// (credit window of 10), and a quorum queue of three members survives
/// one lost node at a time, not two.
#[test]
fn rabbitmq_cluster_node_killed_under_each_client_nothing_lost() {
    let total: usize = std::env::var("MUON_CLUSTER_MESSAGES")
        .ok()
        .map(|v| v.parse().expect("MUON_CLUSTER_MESSAGES is a number"))
        .unwrap_or(6_000);
    assert!(total >= 300, "MUON_CLUSTER_MESSAGES: at least 300");
    let trace = std::env::var_os("MUON_CLUSTER_TRACE").is_some();
    for (p, r) in peers::ensure_packages() {
        if p == "rabbitmq-server" {
            r.expect("rabbitmq-server is needed for the cluster test");
        }
    }
    let dir = scratch();
    let started = Instant::now();
    let examples = common::manifest_dir().join("examples-c");
    let build = |name: &str| {
        peers::compile_muon(
            &examples.join(format!("{name}.c")),
            &dir.join(name),
            Some(&examples),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let (send_exe, recv_exe) = (build("simple_send"), build("simple_recv"));

    let mut cluster = Cluster::start(&dir).unwrap_or_else(|e| panic!("the cluster: {e}"));
    let formed = started.elapsed();
    println!(
        "cluster: 3 nodes ({}), quorum queue {QUEUE} with members on all three, up in {}",
        cluster
            .nodes
            .iter()
            .map(|n| format!("{} on port {}", n.name, n.amqp))
            .collect::<Vec<_>>()
            .join(", "),
        secs(formed)
    );

    let start_client = |exe: &Path, what: &str, args: Vec<String>, traced: bool| {
        let mut cmd = Command::new(exe);
        cmd.args(&args);
        if traced {
            cmd.env("MUON_TRACE", "frm");
        }
        let client = Client::start(&dir, what, cmd).unwrap_or_else(|e| panic!("{e}"));
        let pid = client.pid().expect("a started client has a pid");
        Peer { client, pid }
    };
    let t0 = Instant::now();
    let sender = start_client(
        &send_exe,
        "simple_send",
        vec!["-a".into(), cluster.urls(0), "-m".into(), total.to_string()],
        true,
    );
    let mut transfers = Counter::new(dir.join("simple_send.err"), "-> @transfer");
    let mut receiver: Option<Peer> = None;
    let mut received = Received::new(dir.join("simple_recv.out"), total);

    let mut kills: Vec<Kill> = Vec::new();
    let mut sender_run = None;
    let deadline = t0 + Duration::from_secs(150 + (total / 200) as u64);
    let mut sender_client = Some(sender.client);
    loop {
        received.update();
        transfers.update();
        let now = Instant::now();
        assert!(
            now < deadline,
            "not done after {}: {} of {total} received ({} distinct); missing from {:?}; \
             kills so far: {}; receiver's other lines: {:?}",
            secs(now - t0),
            received.total,
            received.distinct,
            received.missing().first(),
            kills.len(),
            received.other
        );
        let on = [
            (
                "simple_send",
                sender_client
                    .as_ref()
                    .and_then(|_| node_of(&cluster, sender.pid)),
            ),
            (
                "simple_recv",
                receiver.as_ref().and_then(|r| node_of(&cluster, r.pid)),
            ),
        ];
        // Follow each kill: reconnections, flow, the node's restart.
        for k in &mut kills {
            for (what, after) in &mut k.moved {
                if after.is_none()
                    && let Some(n) = on.iter().find(|(w, _)| w == what).and_then(|(_, n)| *n)
                    && n != k.node
                {
                    *after = Some((n, now));
                }
            }
            if k.of == "simple_recv"
                && k.flowing.is_none()
                && k.moved.iter().all(|(_, a)| a.is_some())
                && received.total > k.received_at_kill
            {
                k.flowing = Some(now);
            }
            if k.restarted.is_none() {
                cluster
                    .start_node(k.node)
                    .unwrap_or_else(|e| panic!("restarting {}: {e}", cluster.nodes[k.node].name));
                k.restarted = Some(Instant::now());
            } else if k.up.is_none() {
                match cluster.node_up(k.node) {
                    Ok(true) => k.up = Some(now),
                    Ok(false) => {}
                    Err(e) => panic!("{} after its restart: {e}", cluster.nodes[k.node].name),
                }
            }
        }
        // The receiver starts once the first killed node is back.
        if receiver.is_none() && kills.first().is_some_and(|k| k.up.is_some()) {
            receiver = Some(start_client(
                &recv_exe,
                "simple_recv",
                vec!["-a".into(), cluster.urls(1), "-m".into(), "0".into()],
                trace,
            ));
            println!("{:>8}  simple_recv started", secs(Instant::now() - t0));
        }
        // The kills.
        let victim = match kills.len() {
            0 if transfers.count >= total as u64 / 3 => Some("simple_send"),
            1 if received.distinct >= total as u64 / 3 => Some("simple_recv"),
            _ => None,
        };
        if kills.is_empty() {
            assert!(
                sender_run.is_none(),
                "simple_send ended before a third of its transfers were seen: {:?}",
                sender_run
                    .as_ref()
                    .map(|(_, r): &(Instant, harness::Run)| r.describe())
            );
        }
        if let Some(victim) = victim
            && let Some(node) = on.iter().find(|(w, _)| *w == victim).and_then(|(_, n)| *n)
        {
            let moved = on
                .iter()
                .filter(|(_, n)| *n == Some(node))
                .map(|(w, _)| (*w, None))
                .collect();
            let pid = cluster
                .kill9(node)
                .unwrap_or_else(|e| panic!("kill -9 of {}: {e}", cluster.nodes[node].name));
            println!(
                "{:>8}  kill -9 {pid}: the Erlang VM of {} ({victim}'s node), after {} \
                 transfers sent and {} messages received",
                secs(now - t0),
                cluster.nodes[node].name,
                transfers.count,
                received.distinct
            );
            kills.push(Kill {
                node,
                of: victim,
                at: Instant::now(),
                moved,
                flowing: None,
                received_at_kill: received.total,
                restarted: None,
                up: None,
            });
        }
        // The sender's end.
        if let Some(c) = sender_client.as_mut()
            && !c.running()
        {
            let run = sender_client
                .take()
                .expect("checked")
                .finish(Duration::ZERO);
            println!("{:>8}  simple_send ended", secs(Instant::now() - t0));
            sender_run = Some((Instant::now(), run));
        }
        if let Some((_, run)) = &sender_run {
            assert!(
                run.ok(),
                "simple_send failed (kills so far: {}): {}",
                kills.len(),
                run.describe()
            );
        }
        let kills_done = kills.len() == 2
            && kills
                .iter()
                .all(|k| k.up.is_some() && k.moved.iter().all(|(_, a)| a.is_some()))
            && kills[1].flowing.is_some();
        if sender_run.is_some() && received.distinct == total as u64 && kills_done {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let done = Instant::now();
    // Let anything still on its way arrive (duplicates), then stop it.
    std::thread::sleep(Duration::from_millis(500));
    let recv_run = receiver.expect("the receiver ran").client.kill();
    received.update();
    let (sent_at, send_run) = sender_run.expect("the sender ended");

    // The restarted nodes are members of the queue again.
    let members = cluster.members(0).unwrap_or_else(|e| panic!("{e}"));

    println!("\nkills and failovers:");
    for k in &kills {
        let name = &cluster.nodes[k.node].name;
        println!("  {name} ({}'s node) killed at {}:", k.of, secs(k.at - t0));
        for (what, after) in &k.moved {
            match after {
                Some((n, t)) => println!(
                    "    {what} connected to {} {} after the kill",
                    cluster.nodes[*n].name,
                    secs(*t - k.at)
                ),
                None => println!("    {what}: no new connection seen"),
            }
        }
        if let Some(t) = k.flowing {
            println!(
                "    messages reaching simple_recv again {} after the kill",
                secs(t - k.at)
            );
        }
        if let (Some(r), Some(u)) = (k.restarted, k.up) {
            println!(
                "    restarted at once: back in the cluster {} later ({})",
                secs(u - r),
                if u < done {
                    "while the traffic ran"
                } else {
                    "after the last message"
                }
            );
        }
    }
    let reconnects = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("Disconnected") || l.starts_with("Reconnecting"))
            .count()
    };
    let duplicates = received.total - received.distinct;
    let lost = received.missing();
    println!(
        "\nmessages: {total} to send; simple_send made {} transfers (resending what was not \
         confirmed when its node died) and printed {:?} after {} reconnect lines; \
         simple_recv received {}: {} distinct, {duplicates} duplicates, {} lost, after {} \
         reconnect lines",
        transfers.update(),
        send_run.stdout.lines().last().unwrap_or(""),
        reconnects(&send_run.stdout),
        received.total,
        received.distinct,
        lost.len(),
        reconnects(&recv_run.stdout)
    );
    println!(
        "times: cluster formed in {}, traffic {} (sender done at {}), whole test {}",
        secs(formed),
        secs(done - t0),
        secs(sent_at - t0),
        secs(started.elapsed())
    );
    println!("quorum queue members at the end: {members:?}");

    assert!(lost.is_empty(), "lost: {:?}", &lost[..lost.len().min(20)]);
    assert_eq!(
        send_run.stdout.lines().last(),
        Some("all messages confirmed")
    );
    assert_eq!(members.len(), 3, "{members:?}");
    drop(cluster);
    if std::env::var_os("MUON_CLUSTER_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
