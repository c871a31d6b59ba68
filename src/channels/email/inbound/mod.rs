//! Inbound mail (work in progress).
