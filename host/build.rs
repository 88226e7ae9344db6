//! Rebuild when the WIT contract changes: the bindings macros read it from
//! disk, and cargo does not see that on its own.

fn main() {
    println!("cargo:rerun-if-changed=../wit");
}
