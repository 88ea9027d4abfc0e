//! Collectors: each fills its part of the [`Evidence`](crate::evidence::Evidence).

pub mod git;
pub mod render;
