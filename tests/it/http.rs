//! HTTP semantics.
