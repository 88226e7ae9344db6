//! `wasi:sockets/ip-name-lookup` with refusals counted.
//!
//! wasmtime-wasi's own implementation refuses a lookup the context does not
//! allow, silently. A DNS query is itself an outbound channel, so the host
//! wants to see the attempt: this wraps the real implementation, counts and
//! remembers each refused name, and otherwise delegates.

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource};
// The sync bindings: the linker is synchronous, and since wasmtime-wasi 50
// the default bindings' resolve-address-stream drop is async.
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::ResolveAddressStream;
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddress, Network};
use wasmtime_wasi::p2::bindings::sync::sockets::ip_name_lookup::{
    add_to_linker as add_lookup, Host, HostResolveAddressStream,
};
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::sockets::WasiSocketsCtxView;

use crate::sandbox::{Denials, SandboxView};

pub struct CountedLookup<'a> {
    inner: WasiSocketsCtxView<'a>,
    allowed: bool,
    denials: Arc<Denials>,
}

struct CountedLookupData;

impl HasData for CountedLookupData {
    type Data<'a> = CountedLookup<'a>;
}

impl Host for CountedLookup<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        if !self.allowed {
            self.denials.record_name(&name);
            return Err(ErrorCode::AccessDenied.into());
        }
        Host::resolve_addresses(&mut self.inner, network, name)
    }
}

impl HostResolveAddressStream for CountedLookup<'_> {
    fn resolve_next_address(
        &mut self,
        resource: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        HostResolveAddressStream::resolve_next_address(&mut self.inner, resource)
    }

    fn subscribe(
        &mut self,
        resource: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<wasmtime_wasi::p2::DynPollable>> {
        HostResolveAddressStream::subscribe(&mut self.inner, resource)
    }

    fn drop(&mut self, resource: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        HostResolveAddressStream::drop(&mut self.inner, resource)
    }
}

/// The error conversions that the lookup's trappable errors go through.
impl wasmtime_wasi::p2::bindings::sockets::network::Host for CountedLookup<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        wasmtime_wasi::p2::bindings::sockets::network::Host::convert_error_code(&mut self.inner, error)
    }

    fn network_error_code(&mut self, err: Resource<wasmtime::Error>) -> wasmtime::Result<Option<ErrorCode>> {
        wasmtime_wasi::p2::bindings::sockets::network::Host::network_error_code(&mut self.inner, err)
    }
}

impl wasmtime_wasi::p2::bindings::sockets::network::HostNetwork for CountedLookup<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        wasmtime_wasi::p2::bindings::sockets::network::HostNetwork::drop(&mut self.inner, this)
    }
}

/// Replaces the lookup interface wasmtime-wasi's `add_to_linker_sync`
/// installed with the counted one.
pub fn add_to_linker<T: SandboxView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let added = add_lookup::<T, CountedLookupData>(linker, |s: &mut T| {
        let sandbox = s.sandbox();
        let (allowed, denials) = (sandbox.lookup_allowed, sandbox.denials.clone());
        CountedLookup { inner: s.sockets(), allowed, denials }
    });
    linker.allow_shadowing(false);
    added
}
