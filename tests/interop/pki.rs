//! The certificates of the private RabbitMQ node's TLS listener, made at
//! suite start with the `openssl` CLI into the node's scratch directory
//! (never into the source tree: the private keys must not be committed).
//! The same approach as tests/tls.rs, returning errors instead of
//! panicking, since a node that cannot get its certificates fails its
//! cases with the reason.

use std::path::Path;
use std::process::Command;

/// The common name of the client certificate, which RabbitMQ takes as the
/// user name with SASL EXTERNAL (`ssl_cert_login_from = common_name`); the
/// user is in rabbitmq-definitions.json.
pub const CLIENT_CN: &str = "muon-tls-client";

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
/// the `openssl ca` configuration that signs with it.
fn make_ca(dir: &Path, name: &str, subject: &str) -> Result<(), String> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    )?;
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

/// A P-256 key `name.key` and `name.pem` for `subject` with the extensions
/// `ext`, signed by the CA `ca` for two days.
fn issue(dir: &Path, ca: &str, name: &str, subject: &str, ext: &[&str]) -> Result<(), String> {
    let (key, csr, out) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let mut args = vec![
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &csr,
        "-subj",
        subject,
    ];
    for e in ext {
        args.extend(["-addext", e]);
    }
    openssl(dir, &args)?;
    let (conf, cert, ca_key) = (
        format!("{ca}.cnf"),
        format!("{ca}.pem"),
        format!("{ca}.key"),
    );
    openssl(
        dir,
        &[
            "ca", "-batch", "-notext", "-config", &conf, "-cert", &cert, "-keyfile", &ca_key,
            "-in", &csr, "-out", &out, "-days", "2",
        ],
    )
}

/// Makes, in `dir`: `ca.pem`; `server.pem`/`server.key` for localhost and
/// 127.0.0.1; `client.pem`/`client.key` with the common name `CLIENT_CN`;
/// and `other-ca.pem`, a CA that signed none of them.
pub fn make(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    make_ca(dir, "ca", "/CN=muon interop CA")?;
    make_ca(dir, "other-ca", "/CN=an unrelated CA")?;
    issue(
        dir,
        "ca",
        "server",
        "/CN=localhost",
        &[
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "extendedKeyUsage=serverAuth",
        ],
    )?;
    issue(
        dir,
        "ca",
        "client",
        &format!("/CN={CLIENT_CN}"),
        &["extendedKeyUsage=clientAuth"],
    )
}
