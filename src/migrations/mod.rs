//! Migration analysis: read revision files statically, build the graph, simulate the schema.

pub mod ddl;
pub mod model;
pub mod pgtypes;
pub mod schema;
#[cfg(test)]
pub(crate) mod testkit;
