//! Connection URLs: `[amqp|amqps://][user[:password]@]host[:port][/address]`,
//! parsed with the `url` crate.

use super::Error;

/// A parsed connection URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `amqp` or `amqps`.
    pub scheme: String,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// Port (5672, or 5671 for amqps, when absent).
    pub port: u16,
    /// User name, percent-decoded.
    pub user: Option<String>,
    /// Password, percent-decoded.
    pub password: Option<String>,
    /// The node address: the path without its first `/` (may be empty).
    pub address: String,
}

/// Decodes `%XX` escapes (invalid ones are kept as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Address {
    /// Parses `s`; a missing scheme means `amqp://`.
    pub fn parse(s: &str) -> Result<Address, Error> {
        let full = if s.contains("://") {
            s.to_owned()
        } else {
            format!("amqp://{s}")
        };
        let u = url::Url::parse(&full).map_err(|e| Error::InvalidUrl(format!("{s}: {e}")))?;
        let scheme = u.scheme().to_owned();
        let default_port = match scheme.as_str() {
            "amqp" => 5672,
            "amqps" => 5671,
            other => return Err(Error::InvalidUrl(format!("{s}: unknown scheme {other}"))),
        };
        let host = match u.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            Some(h) => h.to_string(),
            None => return Err(Error::InvalidUrl(format!("{s}: no host"))),
        };
        let user = (!u.username().is_empty()).then(|| percent_decode(u.username()));
        let password = u.password().map(percent_decode);
        let path = u.path();
        let address = percent_decode(path.strip_prefix('/').unwrap_or(path));
        Ok(Address {
            scheme,
            host,
            port: u.port().unwrap_or(default_port),
            user,
            password,
            address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = Address::parse("localhost:5672/examples").unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.address.as_str()),
            ("localhost", 5672, "examples")
        );
        let a = Address::parse("amqp://guest:gu%40st@127.0.0.1/queue").unwrap();
        assert_eq!(a.user.as_deref(), Some("guest"));
        assert_eq!(a.password.as_deref(), Some("gu@st"));
        assert_eq!(a.port, 5672);
        assert_eq!(a.address, "queue");
        let a = Address::parse("amqps://[::1]:1234").unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.address.as_str()),
            ("::1", 1234, "")
        );
        let a = Address::parse("localhost:5672//queue/q1").unwrap();
        assert_eq!(a.address, "/queue/q1");
        assert!(Address::parse("http://x").is_err());
        assert!(Address::parse("amqp://").is_err());
    }
}
