// `sqlx::migrate!` embeds the migration files at compile time, and stable rustc cannot tell it
// when one is added; this makes a new migration rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
