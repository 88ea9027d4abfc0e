//! Collectors: each fills its part of the [`Evidence`](crate::evidence::Evidence).

pub mod dbfacts;
pub mod deploy;
pub mod git;
pub mod render;
