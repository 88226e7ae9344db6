//! A test CA made with `openssl` for the TLS tests: a CA, a server
//! certificate for localhost and 127.0.0.1, the same key with an expired
//! certificate, a client certificate, and an unrelated second CA.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TestCa {
    pub dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out =
        Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl (make deps installs it)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

fn make_ca(dir: &Path, name: &str, cn: &str) {
    let (key, cert, subj) = (format!("{name}-key.pem"), format!("{name}.pem"), format!("/CN={cn}"));
    let mut args = vec!["req", "-x509", "-nodes", "-days", "30", "-subj", &subj, "-keyout", &key, "-out", &cert];
    args.extend(EC);
    openssl(dir, &args);
}

fn make_leaf(dir: &Path, name: &str, cn: &str, days: &str) {
    let (key, csr, cert, subj) =
        (format!("{name}-key.pem"), format!("{name}.csr"), format!("{name}.pem"), format!("/CN={cn}"));
    if !dir.join(&key).exists() {
        let mut args = vec!["req", "-nodes", "-subj", &subj, "-keyout", &key, "-out", &csr];
        args.extend(EC);
        openssl(dir, &args);
    }
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            days,
            "-extfile",
            "ext.cnf",
            "-out",
            &cert,
        ],
    );
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let dir = std::env::temp_dir().join(format!("pylog-ca-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("ca dir");
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth,clientAuth\n",
        )
        .expect("ext.cnf");
        make_ca(&dir, "ca", "pylog test CA");
        make_ca(&dir, "other-ca", "an unrelated CA");
        make_leaf(&dir, "server", "localhost", "30");
        // The server's own key with a certificate that ended yesterday.
        std::fs::copy(dir.join("server.csr"), dir.join("expired.csr")).expect("csr");
        std::fs::copy(dir.join("server-key.pem"), dir.join("expired-key.pem")).expect("key");
        make_leaf(&dir, "expired", "localhost", "-1");
        make_leaf(&dir, "client", "pylog client", "30");
        TestCa { dir }
    }

    /// The path of one of the files: "ca.pem", "server.pem", "server-key.pem", ...
    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }
}
