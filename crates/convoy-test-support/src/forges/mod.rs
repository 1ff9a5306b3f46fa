//! Doubles of the forges' REST APIs, written from their public documentation
//! (`shared/reference/forges.md` §2): endpoints, status codes, pagination, rate-limit headers and
//! error bodies as the forges answer them.

pub mod github;
