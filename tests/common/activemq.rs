//! A private ActiveMQ Classic broker for the tests: Debian's `activemq`
//! package (5.17) run in the foreground by the test (its own JVM process,
//! in a process group of its own, so only it is stopped), with a
//! configuration of its own under the test's directory: one AMQP transport
//! connector on a free port of 127.0.0.1 and no other connector, its own
//! KahaDB data directory, JMX and advisories off, and
//! `simpleAuthenticationPlugin` with one user ([`USER`], [`PASSWORD`]) and
//! no anonymous access, so that wrong credentials are refused.
//!
//! Debian builds ActiveMQ without its AMQP transport (`activemq-amqp` is
//! one of the modules Debian disables: see
//! /usr/share/doc/libactivemq-java/README.Debian), and no registry this
//! project installs from has it. [`ActiveMq::start`] therefore looks for
//! the module, and fails saying so when it is missing:
//!
//! - `MUON_ACTIVEMQ_LIB`: a directory with the jars of the AMQP transport
//!   (`activemq-amqp-5.17.*.jar` and the Qpid `proton-j` it needs), added
//!   to the broker's class path (linked into its `lib/`);
//! - `MUON_ACTIVEMQ_HOME`: an ActiveMQ Classic installation to run instead
//!   of Debian's `/usr/share/activemq` (e.g. Apache's own distribution,
//!   which has the module in `lib/optional`).
//!
//! Start-up takes about 5–10 s on a 2-core machine (a JVM, Spring's XML).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user the broker knows (SASL PLAIN).
pub const USER: &str = "muon";
/// [`USER`]'s password.
pub const PASSWORD: &str = "muon-secret";

/// Where Debian's `activemq` package puts ActiveMQ.
pub const DEBIAN_HOME: &str = "/usr/share/activemq";

/// How long the broker may take to start.
const START_LIMIT: Duration = Duration::from_secs(120);

/// A running private broker; stopped (only its own process group) by
/// [`ActiveMq::stop`] or when dropped.
pub struct ActiveMq {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
    /// How long the start took, until the AMQP port listened.
    pub startup: Duration,
}

/// The ActiveMQ installation to run: `MUON_ACTIVEMQ_HOME` or Debian's.
pub fn home() -> PathBuf {
    std::env::var_os("MUON_ACTIVEMQ_HOME").map_or_else(|| PathBuf::from(DEBIAN_HOME), PathBuf::from)
}

/// The jars in `dir` and its subdirectories (symbolic links followed).
fn jars_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            jars_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "jar") {
            out.push(p);
        }
    }
}

/// The extra jars from `MUON_ACTIVEMQ_LIB` (none when it is not set), or
/// why that directory cannot be used.
fn extra_jars() -> Result<Vec<PathBuf>, String> {
    let Some(dir) = std::env::var_os("MUON_ACTIVEMQ_LIB") else {
        return Ok(Vec::new());
    };
    let dir = PathBuf::from(dir);
    let mut v = Vec::new();
    jars_under(&dir, &mut v);
    if v.is_empty() {
        return Err(format!(
            "MUON_ACTIVEMQ_LIB={} holds no .jar file",
            dir.display()
        ));
    }
    Ok(v)
}

/// Whether a jar's file name says it is ActiveMQ's AMQP transport.
fn is_amqp_module(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("activemq-amqp"))
}

/// `Ok` if the installation (with `MUON_ACTIVEMQ_LIB`) has the AMQP
/// transport; `Err` saying what is missing and how to supply it.
pub fn check_available() -> Result<(), String> {
    let home = home();
    let main = home.join("bin").join("activemq.jar");
    if !main.exists() {
        return Err(format!(
            "{} does not exist: ActiveMQ is not installed (Debian package activemq, or \
             MUON_ACTIVEMQ_HOME)",
            main.display()
        ));
    }
    let mut jars = extra_jars()?;
    jars_under(&home.join("lib"), &mut jars);
    if jars.iter().any(|p| is_amqp_module(p)) {
        Ok(())
    } else {
        Err(format!(
            "no AMQP transport in {} (Debian's activemq package is built without \
             activemq-amqp: /usr/share/doc/libactivemq-java/README.Debian). Set \
             MUON_ACTIVEMQ_LIB to a directory holding activemq-amqp-5.17.*.jar and \
             proton-j-0.33.*.jar, or MUON_ACTIVEMQ_HOME to an ActiveMQ Classic 5.17 \
             distribution",
            home.display()
        ))
    }
}

/// The broker's configuration: one AMQP connector, own data directory,
/// one user, no anonymous access.
fn activemq_xml(dir: &Path, port: u16) -> String {
    let data = dir.join("data");
    format!(
        r#"<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="muon-test"
          useJmx="false" advisorySupport="false" schedulerSupport="false"
          dataDirectory="{data}">
    <persistenceAdapter>
      <kahaDB directory="{data}/kahadb"/>
    </persistenceAdapter>
    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="false">
        <users>
          <authenticationUser username="{USER}" password="{PASSWORD}" groups="users"/>
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage limit="256 mb"/></memoryUsage>
        <storeUsage><storeUsage limit="2 gb"/></storeUsage>
        <tempUsage><tempUsage limit="1 gb"/></tempUsage>
      </systemUsage>
    </systemUsage>
    <transportConnectors>
      <transportConnector name="amqp"
          uri="amqp://127.0.0.1:{port}?transport.transformer=jms"/>
    </transportConnectors>
  </broker>
</beans>
"#,
        data = data.display()
    )
}

const LOG4J: &str = "log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%d{HH:mm:ss.SSS} %-5p %c{1} - %m%n
";

/// Whether something listens on TCP `port` (read from /proc/net/tcp{,6}:
/// no connection is opened).
fn is_listening(port: u16) -> bool {
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
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl ActiveMq {
    /// Starts a broker whose files (configuration, data, log) are all under
    /// `dir` (created if needed), and waits until it listens.
    pub fn start(dir: &Path) -> Result<ActiveMq, String> {
        check_available()?;
        let home = home();
        let conf = dir.join("conf");
        let lib = dir.join("lib");
        let tmp = dir.join("tmp");
        for d in [&conf, &lib, &tmp, &dir.join("data")] {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        for jar in extra_jars()? {
            let name = jar.file_name().expect("a jar has a file name");
            let link = lib.join(name);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&jar, &link).map_err(|e| {
                format!("cannot link {} into {}: {e}", jar.display(), lib.display())
            })?;
        }
        let port = super::program::free_port();
        let xml = conf.join("activemq.xml");
        std::fs::write(&xml, activemq_xml(dir, port))
            .map_err(|e| format!("cannot write {}: {e}", xml.display()))?;
        let log4j = conf.join("log4j.properties");
        std::fs::write(&log4j, LOG4J)
            .map_err(|e| format!("cannot write {}: {e}", log4j.display()))?;

        let log = dir.join("activemq.log");
        let out =
            File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new("java");
        cmd.args([
            "-Xms64m",
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "--add-reads=java.xml=java.logging",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
        ])
        .arg(format!("-Djava.io.tmpdir={}", tmp.display()))
        .arg(format!("-Dlog4j.configuration=file:{}", log4j.display()))
        .arg(format!("-Dactivemq.classpath={}", conf.display()))
        .arg(format!("-Dactivemq.home={}", home.display()))
        .arg(format!("-Dactivemq.base={}", dir.display()))
        .arg(format!("-Dactivemq.conf={}", conf.display()))
        .arg(format!("-Dactivemq.data={}", dir.join("data").display()))
        .arg("-jar")
        .arg(home.join("bin").join("activemq.jar"))
        .arg("start")
        .arg(format!("xbean:file:{}", xml.display()))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
        // SAFETY: the closure runs in the child between fork and exec and
        // only calls prctl(2), which is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let t0 = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start ActiveMQ (java): {e}"))?;
        let mut amq = ActiveMq {
            child: Some(child),
            port,
            dir: dir.to_path_buf(),
            log,
            startup: Duration::ZERO,
        };
        while !(is_listening(port) && amq.log().contains(") started")) {
            amq.check_alive()?;
            if t0.elapsed() > START_LIMIT {
                let why = format!(
                    "ActiveMQ did not listen on port {port} within {START_LIMIT:?}; its log \
                     ends:\n{}",
                    tail(&amq.log(), 20)
                );
                amq.stop();
                return Err(why);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        amq.startup = t0.elapsed();
        Ok(amq)
    }

    /// The AMQP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, without credentials.
    pub fn hostport(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `amqp://USER:PASSWORD@127.0.0.1:PORT`: a URL with the broker's user.
    pub fn url(&self) -> String {
        format!("amqp://{USER}:{PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// The broker's directory (configuration, data, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything the broker has logged so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// `Err` with the end of the log once the broker has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        let Some(child) = self.child.as_mut() else {
            return Err("ActiveMQ was stopped".into());
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "ActiveMQ exited ({status}); its log ends:\n{}",
                tail(&self.log(), 20)
            )),
            Err(e) => Err(format!("cannot wait for ActiveMQ: {e}")),
        }
    }

    /// Stops the broker: SIGTERM to its process group (ActiveMQ's shutdown
    /// hook closes the store), SIGKILL after 15 s. Stopping twice does
    /// nothing.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
            return;
        };
        let signal = |sig| {
            // SAFETY: kill(2) with a negative pid signals only that process
            // group, which is the broker's own (started with process_group(0)).
            unsafe {
                libc::kill(-pgid, sig);
            }
        };
        if !matches!(child.try_wait(), Ok(Some(_))) {
            signal(libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(15);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        signal(libc::SIGKILL);
        let _ = child.wait();
    }
}

impl Drop for ActiveMq {
    fn drop(&mut self) {
        self.stop();
    }
}
