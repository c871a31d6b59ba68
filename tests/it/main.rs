//! One integration test binary (one link step) driving the real server over real PostgreSQL
//! and Redis. Run through `deploy/dev/test`, which provisions both.

mod support;

mod contacts;
