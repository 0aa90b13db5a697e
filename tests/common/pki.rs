//! A test PKI made with the `openssl` CLI at test time, in a directory the
//! caller chooses (never in the source tree: the private keys must not be
//! committed). Every key is P-256; every certificate is valid for two days
//! from now unless made expired. Errors are returned, not panicked on: the
//! interop suite reports them as the reason its TLS cases fail.
//!
//! ```ignore
//! let pki = Pki::builder(dir)
//!     .ca("ca", "/CN=muon test CA")
//!     .server("server", "ca")
//!     .client("alice", "ca", "alice")
//!     .build()
//!     .expect("the test PKI");
//! let ca = pki.path("ca.pem");
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

/// The names a server certificate is for, by default.
const LOCALHOST: &str = "subjectAltName=DNS:localhost,IP:127.0.0.1";
const SERVER_USE: &str = "extendedKeyUsage=serverAuth";
const CLIENT_USE: &str = "extendedKeyUsage=clientAuth";

/// A made PKI: `NAME.pem` and `NAME.key` for each CA and certificate.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    /// Starts describing a PKI to be made in `dir` (emptied first).
    pub fn builder(dir: impl Into<PathBuf>) -> PkiBuilder {
        PkiBuilder {
            dir: dir.into(),
            steps: Vec::new(),
        }
    }

    /// The path of `name` (e.g. "ca.pem", "server.key") as an argument.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

enum Step {
    Ca {
        name: String,
        subject: String,
    },
    Cert {
        name: String,
        ca: String,
        subject: String,
        ext: Vec<String>,
        /// (start, end) as `openssl ca` takes them; two days from now if
        /// not given.
        dates: Option<(&'static str, &'static str)>,
    },
}

/// The certificates to make, in order (a CA before what it signs).
pub struct PkiBuilder {
    dir: PathBuf,
    steps: Vec<Step>,
}

impl PkiBuilder {
    /// A self-signed CA `name` (name.pem, name.key) with `subject`
    /// (e.g. "/CN=muon test CA").
    pub fn ca(mut self, name: &str, subject: &str) -> Self {
        self.steps.push(Step::Ca {
            name: name.into(),
            subject: subject.into(),
        });
        self
    }

    fn cert(mut self, name: &str, ca: &str, subject: &str, ext: &[&str]) -> Self {
        self.steps.push(Step::Cert {
            name: name.into(),
            ca: ca.into(),
            subject: subject.into(),
            ext: ext.iter().map(|e| e.to_string()).collect(),
            dates: None,
        });
        self
    }

    /// A server certificate `name` from the CA `ca` for localhost and
    /// 127.0.0.1 (CN=localhost).
    pub fn server(self, name: &str, ca: &str) -> Self {
        self.cert(name, ca, "/CN=localhost", &[LOCALHOST, SERVER_USE])
    }

    /// Like `server`, but valid only on 1 January 2020.
    pub fn expired_server(mut self, name: &str, ca: &str) -> Self {
        self = self.server(name, ca);
        if let Some(Step::Cert { dates, .. }) = self.steps.last_mut() {
            *dates = Some(("20200101000000Z", "20200102000000Z"));
        }
        self
    }

    /// A server certificate `name` from the CA `ca` for the DNS name `host`
    /// only (CN=host).
    pub fn server_for(self, name: &str, ca: &str, host: &str) -> Self {
        let san = format!("subjectAltName=DNS:{host}");
        self.cert(name, ca, &format!("/CN={host}"), &[&san, SERVER_USE])
    }

    /// A client certificate `name` from the CA `ca` whose common name is
    /// `cn` (the user name SASL EXTERNAL takes).
    pub fn client(self, name: &str, ca: &str, cn: &str) -> Self {
        self.cert(name, ca, &format!("/CN={cn}"), &[CLIENT_USE])
    }

    /// Makes everything, in an emptied `dir`.
    pub fn build(self) -> Result<Pki, String> {
        let dir = self.dir;
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot empty {}: {e}", dir.display())),
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for step in &self.steps {
            match step {
                Step::Ca { name, subject } => make_ca(&dir, name, subject)?,
                Step::Cert {
                    name,
                    ca,
                    subject,
                    ext,
                    dates,
                } => {
                    let ext: Vec<&str> = ext.iter().map(String::as_str).collect();
                    request(&dir, name, subject, &ext)?;
                    sign(&dir, ca, name, *dates)?;
                }
            }
        }
        Ok(Pki { dir })
    }
}

/// `openssl req` options for a new P-256 key, unencrypted.
const NEW_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// A self-signed P-256 CA `name` (name.pem, name.key), valid two days, and
/// the `openssl ca` configuration that signs with it (its own database).
fn make_ca(dir: &Path, name: &str, subject: &str) -> Result<(), String> {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    let mut args = vec!["req", "-x509"];
    args.extend(NEW_KEY);
    args.extend([
        "-keyout", &key, "-out", &pem, "-days", "2", "-subj", subject,
    ]);
    args.extend([
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &args)?;
    let conf = format!(
        "[ca]\ndefault_ca = signing\n[signing]\ndatabase = {name}.index\nnew_certs_dir = .\n\
         serial = {name}.serial\ndefault_md = sha256\npolicy = any\ncopy_extensions = copy\n\
         unique_subject = no\n[any]\ncommonName = supplied\n"
    );
    let write = |file: String, text: &str| {
        std::fs::write(dir.join(&file), text).map_err(|e| format!("cannot write {file}: {e}"))
    };
    write(format!("{name}.cnf"), &conf)?;
    write(format!("{name}.index"), "")?;
    write(format!("{name}.serial"), "01\n")
}

/// A P-256 key `name.key` and a request `name.csr` for `subject`, with
/// `ext` (e.g. a subjectAltName) as extensions that `openssl ca` copies.
fn request(dir: &Path, name: &str, subject: &str, ext: &[&str]) -> Result<(), String> {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let mut args = vec!["req"];
    args.extend(NEW_KEY);
    args.extend(["-keyout", &key, "-out", &csr, "-subj", subject]);
    for e in ext {
        args.extend(["-addext", e]);
    }
    openssl(dir, &args)
}

/// Signs `name.csr` with the CA `ca` into `name.pem`, valid for two days
/// from now, or over `dates` (start, end) when given.
fn sign(dir: &Path, ca: &str, name: &str, dates: Option<(&str, &str)>) -> Result<(), String> {
    let (conf, cert, key) = (
        format!("{ca}.cnf"),
        format!("{ca}.pem"),
        format!("{ca}.key"),
    );
    let (csr, out) = (format!("{name}.csr"), format!("{name}.pem"));
    let mut args = vec![
        "ca", "-batch", "-notext", "-config", &conf, "-cert", &cert, "-keyfile", &key, "-in", &csr,
        "-out", &out,
    ];
    match dates {
        Some((start, end)) => args.extend(["-startdate", start, "-enddate", end]),
        None => args.extend(["-days", "2"]),
    }
    openssl(dir, &args)
}
