//! Compiles the one C file: INCRBYFLOAT's `long double` arithmetic (src/util/longdouble.c).

fn main() {
    println!("cargo:rerun-if-changed=src/util/longdouble.c");
    cc::Build::new().file("src/util/longdouble.c").flag_if_supported("-std=c11").warnings(true).compile("tandem_longdouble");
}
