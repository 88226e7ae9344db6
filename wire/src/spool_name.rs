//! Where a handler's durable spool lives inside `spool_dir`.
//!
//! The guest writes the spool and the host locks it, so both derive the
//! same names from the handler's name here. The mapping is injective: two
//! handlers never share a spool (`app.a` and `app_a` once did).

/// The folder of handler `name`'s durable spool, relative to `spool_dir`.
///
/// ASCII letters, digits, `-` and `_` stand for themselves; every other byte
/// of the UTF-8 name is written `%XX`. `%` itself is escaped, so no two
/// names give the same folder.
pub fn spool_folder(name: &str) -> String {
    let mut out = String::from("spool-");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The lock file beside the folder; the host holds an exclusive lock on it
/// while a handler uses the spool, so a second process is refused.
pub fn lock_file(name: &str) -> String {
    format!("{}.lock", spool_folder(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_collided_before_stay_apart() {
        let names = ["app.a", "app_a", "app%2Ea", "app/a", "", "é", "app-a", "APP.a"];
        let folders: std::collections::HashSet<_> = names.iter().map(|n| spool_folder(n)).collect();
        assert_eq!(folders.len(), names.len());
        assert_eq!(spool_folder("app.a"), "spool-app%2Ea");
        assert_eq!(spool_folder("app_a"), "spool-app_a");
        assert_eq!(lock_file("x"), "spool-x.lock");
        assert!(!spool_folder("../../etc").contains('/'));
    }
}
