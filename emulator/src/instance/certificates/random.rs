//! Random bytes (salts, serial numbers) from the crypto library rustls already builds.

use rustls::crypto::aws_lc_rs::default_provider;

pub(super) fn fill(buf: &mut [u8]) {
    // aws-lc's generator fails only when the operating system has no entropy source, which
    // nothing in the emulator can work without; a fixed pattern then keeps going.
    if default_provider().secure_random.fill(buf).is_err() {
        buf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
    }
}
