//! `secrets`: opaque handles to values the host resolves from `env:`/`file:` references.
//! `open` needs a `secrets` grant; `reveal` needs a separate `label:reveal` grant and is
//! journaled. Every resolved value is registered with the redactor before anything uses it.

use wasmtime::component::Resource;

use crate::bindings::ferry::plugin::secrets::{Host, HostSecret};
use crate::bindings::handles::SecretHandle;
use crate::bindings::types::PluginError;
use crate::bindings::{HostError, failed};
use crate::capability::{Access, Kind};
use crate::events::PluginEvent;
use crate::runtime::store::StepData;
use crate::vault::SealedValue;

/// 32 characters from the 66 unreserved URL characters: about 193 bits, and at least one
/// upper, lower, digit and symbol so SQL Server's password policy (CHECK_POLICY) accepts it
/// wherever it becomes a password.
fn random_password() -> wasmtime::Result<String> {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
    loop {
        let mut p = String::with_capacity(32);
        while p.len() < 32 {
            let mut bytes = [0u8; 64];
            getrandom::fill(&mut bytes)
                .map_err(|e| wasmtime::Error::msg(format!("no randomness: {e}")))?;
            // 256 is 3 × 66 + 58: a byte of 198 or more is dropped rather than folded, so
            // every character is equally likely.
            for b in bytes.iter().filter(|b| **b < 198) {
                if p.len() < 32 {
                    p.push(CHARS[usize::from(*b) % CHARS.len()] as char);
                }
            }
        }
        let classes = [
            p.chars().any(|c| c.is_ascii_uppercase()),
            p.chars().any(|c| c.is_ascii_lowercase()),
            p.chars().any(|c| c.is_ascii_digit()),
            p.chars().any(|c| "-_.~".contains(c)),
        ];
        if classes.iter().all(|c| *c) {
            return Ok(p);
        }
    }
}

impl HostSecret for StepData {
    async fn open(&mut self, label: String) -> Result<Resource<SecretHandle>, HostError> {
        self.check(Kind::Secret, &label, Access::Read)?;
        // Resolve now so a missing variable or file fails here, at the plugin's first use.
        self.scope.vault.resolve(&label).map_err(failed)?;
        Ok(self.table.push(SecretHandle { label })?)
    }

    async fn label(&mut self, secret: Resource<SecretHandle>) -> wasmtime::Result<String> {
        Ok(self.table.get(&secret)?.label.clone())
    }

    async fn reveal(&mut self, secret: Resource<SecretHandle>) -> Result<String, HostError> {
        let label = self.table.get(&secret)?.label.clone();
        self.check(Kind::Secret, &label, Access::Reveal)?;
        let value = self.scope.vault.resolve(&label).map_err(failed)?;
        self.scope.sink.emit(
            &self.scope.step,
            &self.scope.item,
            PluginEvent::SecretRevealed { label },
        );
        Ok(value)
    }

    async fn generate(&mut self, purpose: String) -> wasmtime::Result<Resource<SecretHandle>> {
        let value = random_password()?;
        let purpose: String = purpose
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect();
        let label = self
            .scope
            .vault
            .seal_generated(&format!("generated:{purpose}"), value);
        Ok(self.table.push(SecretHandle { label })?)
    }

    async fn pkcs12(
        &mut self,
        certificate: Vec<u8>,
        private_key: Resource<SecretHandle>,
        key_password: Resource<SecretHandle>,
        password: Resource<SecretHandle>,
    ) -> Result<Resource<SecretHandle>, HostError> {
        let key = self.sealed_bytes(&private_key, "pkcs12 private key")?;
        let key_password = self.sealed_value(&key_password, "pkcs12 key password")?;
        let password = self.sealed_value(&password, "pkcs12 password")?;
        let pfx = ferry_pfx::pfx_from_sql_server(&certificate, &key, &key_password, &password)
            .map_err(|e| failed(format!("building the PFX: {e}")))?;
        let encoded = ferry_pfx::to_base64(&pfx);
        let label = self.scope.vault.seal_generated("pfx", encoded);
        Ok(self.table.push(SecretHandle { label })?)
    }

    async fn drop(&mut self, secret: Resource<SecretHandle>) -> wasmtime::Result<()> {
        self.table.delete(secret)?;
        Ok(())
    }
}

impl Host for StepData {}

impl StepData {
    /// The value behind a sealed handle, for the host to write into a statement the plugin
    /// never sees (`what` names the use, for errors).
    pub(crate) fn sealed(
        &self,
        secret: &Resource<SecretHandle>,
        what: &str,
    ) -> Result<SealedValue, PluginError> {
        let label = self
            .table
            .get(secret)
            .map_err(|e| failed(format!("{what}: {e}")))?
            .label
            .clone();
        self.scope.vault.sealed(&label).map_err(failed)
    }

    /// A sealed text value, for a request body or a password (`what` names the use).
    pub(crate) fn sealed_value(
        &self,
        secret: &Resource<SecretHandle>,
        what: &str,
    ) -> Result<String, PluginError> {
        match self.sealed(secret, what)? {
            SealedValue::Text(t) => Ok(t),
            SealedValue::Binary(_) => Err(failed(format!(
                "{what}: this secret holds binary data read from a server; it can only be \
                 written into T-SQL as a sealed parameter"
            ))),
        }
    }

    /// The raw bytes behind a binary sealed handle (a `CERTPRIVATEKEY` cell).
    fn sealed_bytes(
        &self,
        secret: &Resource<SecretHandle>,
        what: &str,
    ) -> Result<Vec<u8>, PluginError> {
        match self.sealed(secret, what)? {
            SealedValue::Binary(b) => hex::decode(&b[2..])
                .map_err(|_| failed(format!("{what}: the sealed value is not binary"))),
            SealedValue::Text(_) => Err(failed(format!(
                "{what}: expected binary data read with `query-sealed`, got a text secret"
            ))),
        }
    }
}
