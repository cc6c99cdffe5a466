//! mfg-rs
