//! What the production Argon2id parameters cost per hash and per verification, and whether a
//! login for an unknown email costs the same as one with a wrong password.
//!
//! `cargo bench -p users --bench password_hash`. On a 128 MB Lambda the CPU share is about
//! 128/1769 of a vCPU, so multiply a full-core figure accordingly (docs/performance.md).

// A bench that cannot set up should stop loudly.
#![allow(clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use users::adapters::argon::Argon2Hasher;
use users::domain::Password;
use users::ports::PasswordHasher;

fn argon2id(c: &mut Criterion) {
    let hasher = Argon2Hasher::production().expect("production params");
    let password = Password::new("correct horse battery staple".into()).expect("valid password");
    let hash = hasher.hash(&password).expect("hash");
    let wrong = Password::new("wrong horse battery staple".into()).expect("valid password");

    let mut group = c.benchmark_group("argon2id m=19MiB t=2 p=1");
    group.sample_size(20);
    group.bench_function("hash (registration)", |b| b.iter(|| hasher.hash(&password)));
    group.bench_function("verify, wrong password (login)", |b| {
        b.iter(|| hasher.verify(&wrong, &hash))
    });
    group.bench_function("verify dummy, unknown email (login)", |b| {
        b.iter(|| hasher.verify_dummy(wrong.expose()))
    });
    group.finish();
}

criterion_group!(benches, argon2id);
criterion_main!(benches);
