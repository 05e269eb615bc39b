//! `--watch`: the cluster's objects that decide ports, kept in memory by kube-runtime
//! reflectors (a list, then a watch), so that a review sees the rest of the namespace and
//! the audit (`--audit-interval`) sees the whole cluster.
//!
//! What is watched is [`JUDGED_KINDS`], the table `iredmail-ports cluster` reads and the
//! chart's ClusterRole grants: the built-in kinds at once, typed; the custom resources
//! (Gateway API, Traefik) once discovery has said which of them the cluster serves, as
//! dynamic objects. A CRD installed after the server started is watched from its next
//! start. ingress-nginx's port ConfigMaps are watched by name only, so no other
//! ConfigMap's data is read (RBAC grants no more).
//!
//! Objects a controller owns (the Pods of a ReplicaSet, the ReplicaSets of a Deployment,
//! the Jobs of a CronJob) are not kept: their owner's template already says what they
//! run, and keeping every Pod of a cluster would cost memory for nothing.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::ready;
use std::hash::Hash;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, ReplicationController, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use kube::api::{ApiResource, DynamicObject};
use kube::core::TypeMeta;
use kube::discovery::Discovery;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::review::{CachedObject, NamespaceView, ObjectKey};
use crate::load::kinds::{APPS, BATCH, CORE, JUDGED_KINDS, JudgedKind, NETWORKING, Origin};

/// The annotation `kubectl apply` leaves: a second copy of the object, not worth keeping.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// How long discovery waits after a failure at first, and at most.
const DISCOVERY_RETRY: Duration = Duration::from_secs(1);
const DISCOVERY_RETRY_MAX: Duration = Duration::from_secs(60);

/// One reflector's store, whatever its kind.
trait Snapshot: Send + Sync {
    /// The objects of `namespace` and the cluster-scoped ones (Namespaces); with `None`,
    /// every object.
    fn collect(&self, namespace: Option<&str>, into: &mut Vec<CachedObject>);
    fn len(&self) -> usize;
    /// Resolves once the first list has been stored.
    fn synced(&self) -> BoxFuture<'static, ()>;
}

/// Whether an object belongs to the view of `namespace` (`None`: the whole cluster).
fn in_view<K: Resource>(object: &K, namespace: Option<&str>) -> bool {
    match (namespace, object.meta().namespace.as_deref()) {
        (None, _) | (_, None) => true,
        (Some(wanted), Some(namespace)) => wanted == namespace,
    }
}

fn cached<K: Resource>(object: &K, kind: &str, value: serde_json::Value) -> CachedObject {
    CachedObject {
        key: ObjectKey {
            kind: kind.to_string(),
            namespace: object.namespace().unwrap_or_default(),
            name: object.name_any(),
        },
        value,
    }
}

/// Resolves once the store's first list is in; the writer lives as long as its reflector
/// task, i.e. as long as the server.
fn store_synced<K>(store: &Store<K>) -> BoxFuture<'static, ()>
where
    K: Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    let store = store.clone();
    Box::pin(async move {
        let _ = store.wait_until_ready().await;
    })
}

impl<K> Snapshot for Store<K>
where
    K: Resource<DynamicType = ()> + Serialize + Clone + Send + Sync + 'static,
{
    fn collect(&self, namespace: Option<&str>, into: &mut Vec<CachedObject>) {
        let objects = self.state_filter(|o| in_view(o, namespace));
        into.extend(objects.into_iter().map(|object| {
            // Typed Kubernetes objects always serialize; a null would only make the engine
            // report the object as unreadable.
            let value = serde_json::to_value(object.as_ref()).unwrap_or_default();
            cached(object.as_ref(), &K::kind(&()), value)
        }));
    }

    fn len(&self) -> usize {
        Store::len(self)
    }

    fn synced(&self) -> BoxFuture<'static, ()> {
        store_synced(self)
    }
}

/// A custom resource's store, with the resource it holds: list items may come without
/// their `apiVersion` and `kind`, which the engine needs.
struct Custom {
    store: Store<DynamicObject>,
    resource: ApiResource,
}

impl Snapshot for Custom {
    fn collect(&self, namespace: Option<&str>, into: &mut Vec<CachedObject>) {
        let objects = self.store.state_filter(|o| in_view(o, namespace));
        into.extend(objects.into_iter().map(|object| {
            let mut object = object.as_ref().clone();
            object.types.get_or_insert_with(|| TypeMeta {
                api_version: self.resource.api_version.clone(),
                kind: self.resource.kind.clone(),
            });
            // A DynamicObject is JSON already; a null would only make the engine report
            // the object as unreadable.
            let value = serde_json::to_value(&object).unwrap_or_default();
            cached(&object, &self.resource.kind, value)
        }));
    }

    fn len(&self) -> usize {
        self.store.len()
    }

    fn synced(&self) -> BoxFuture<'static, ()> {
        store_synced(&self.store)
    }
}

/// The reflectors' stores.
pub struct Cache {
    client: Client,
    /// The built-in kinds, watched from the start.
    stores: Vec<Box<dyn Snapshot>>,
    /// The custom resources the cluster serves, watched once discovery has run.
    custom: OnceCell<Vec<Box<dyn Snapshot>>>,
    /// Set once every store has its first list. Readiness and the audit both wait for it,
    /// through this cell: a store's own readiness future wakes only one of several tasks
    /// waiting on it at once (a oneshot channel inside kube-runtime).
    listed: OnceCell<()>,
}

impl Cache {
    /// Starts one reflector per built-in kind on the tokio runtime; their stores fill in
    /// the background, and the custom resources follow discovery (see [`Cache::synced`]).
    pub fn start(client: &Client) -> Cache {
        let mut stores: Vec<Box<dyn Snapshot>> = Vec::new();
        for kind in JUDGED_KINDS.iter().filter(|k| k.origin == Origin::BuiltIn) {
            match built_in(kind) {
                Some(start) => stores.extend(start(client, kind)),
                // Unreachable while the unit test below holds; a log line rather than a
                // panic if the table grows without this file.
                None => tracing::error!(kind = kind.kind, "no watch for this built-in kind"),
            }
        }
        Cache {
            client: client.clone(),
            stores,
            custom: OnceCell::new(),
            listed: OnceCell::new(),
        }
    }

    /// Resolves once every kind has been listed (and discovery has said which custom
    /// resources there are).
    pub async fn synced(&self) {
        self.listed.get_or_init(|| self.wait_for_lists()).await;
    }

    /// Run by one task only (see `listed`).
    async fn wait_for_lists(&self) {
        let custom = self.custom.get_or_init(|| watch_custom(&self.client)).await;
        let all = self.stores.iter().chain(custom.iter());
        futures::future::join_all(all.map(|s| s.synced())).await;
    }

    /// Objects held, for the metrics.
    pub fn len(&self) -> usize {
        self.snapshots().map(|s| s.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every object held, in every namespace: the whole cluster, for the audit.
    pub fn all_objects(&self) -> Vec<CachedObject> {
        self.gather(None)
    }

    fn snapshots(&self) -> impl Iterator<Item = &Box<dyn Snapshot>> {
        self.stores
            .iter()
            .chain(self.custom.get().into_iter().flatten())
    }

    fn gather(&self, namespace: Option<&str>) -> Vec<CachedObject> {
        let mut objects = Vec::new();
        for store in self.snapshots() {
            store.collect(namespace, &mut objects);
        }
        objects
    }
}

impl NamespaceView for Cache {
    fn objects(&self, namespace: &str) -> Vec<CachedObject> {
        self.gather(Some(namespace))
    }
}

/// Starts the reflectors of one judged kind.
type Start = fn(&Client, &JudgedKind) -> Vec<Box<dyn Snapshot>>;

/// The typed watch of a built-in judged kind.
fn built_in(kind: &JudgedKind) -> Option<Start> {
    let start: Start = match (kind.group, kind.kind) {
        (CORE, "Namespace") => watch_typed::<Namespace>,
        (CORE, "Service") => watch_typed::<Service>,
        (CORE, "ConfigMap") => watch_typed::<ConfigMap>,
        (CORE, "ReplicationController") => watch_typed::<ReplicationController>,
        (CORE, "Pod") => watch_typed::<Pod>,
        (NETWORKING, "NetworkPolicy") => watch_typed::<NetworkPolicy>,
        (NETWORKING, "Ingress") => watch_typed::<Ingress>,
        (APPS, "Deployment") => watch_typed::<Deployment>,
        (APPS, "StatefulSet") => watch_typed::<StatefulSet>,
        (APPS, "DaemonSet") => watch_typed::<DaemonSet>,
        (APPS, "ReplicaSet") => watch_typed::<ReplicaSet>,
        (BATCH, "CronJob") => watch_typed::<CronJob>,
        (BATCH, "Job") => watch_typed::<Job>,
        _ => return None,
    };
    Some(start)
}

/// The watches of a kind: one for every object, or one per name when only some names
/// matter (a `metadata.name` field selector, which RBAC's `resourceNames` allows).
fn watch_configs(kind: &JudgedKind) -> Vec<watcher::Config> {
    match kind.only_named {
        None => vec![watcher::Config::default()],
        Some(names) => names
            .iter()
            .map(|name| watcher::Config::default().fields(&format!("metadata.name={name}")))
            .collect(),
    }
}

fn watch_typed<K>(client: &Client, kind: &JudgedKind) -> Vec<Box<dyn Snapshot>>
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug
        + Send
        + Sync
        + 'static,
{
    watch_configs(kind)
        .into_iter()
        .map(|config| {
            let (reader, writer) = reflector::store::<K>();
            spawn_reflector(writer, Api::<K>::all(client.clone()), config, kind.kind);
            Box::new(reader) as Box<dyn Snapshot>
        })
        .collect()
}

/// Discovers which custom judged kinds the cluster serves (retrying until the API server
/// answers) and starts their reflectors.
async fn watch_custom(client: &Client) -> Vec<Box<dyn Snapshot>> {
    let custom: Vec<&JudgedKind> = JUDGED_KINDS
        .iter()
        .filter(|k| k.origin == Origin::Crd)
        .collect();
    let discovery = discover(client, &custom).await;
    let mut stores: Vec<Box<dyn Snapshot>> = Vec::new();
    let mut watched = Vec::new();
    for kind in custom {
        let Some((resource, _)) = discovery
            .get(kind.group)
            .and_then(|group| group.recommended_kind(kind.kind))
        else {
            continue;
        };
        watched.push(format!("{}.{}", resource.plural, resource.group));
        for config in watch_configs(kind) {
            let writer = reflector::store::Writer::<DynamicObject>::new(resource.clone());
            let store = writer.as_reader();
            let api = Api::<DynamicObject>::all_with(client.clone(), &resource);
            spawn_reflector(writer, api, config, kind.kind);
            stores.push(Box::new(Custom {
                store,
                resource: resource.clone(),
            }));
        }
    }
    tracing::info!(
        custom_resources = ?watched,
        "watching the custom resources this cluster serves"
    );
    stores
}

/// Discovery of the custom kinds' API groups; a failure (API server down, no permission)
/// is logged and retried with a growing pause, as the reflectors retry theirs.
async fn discover(client: &Client, kinds: &[&JudgedKind]) -> Discovery {
    let groups: BTreeSet<&str> = kinds.iter().map(|k| k.group).collect();
    let groups: Vec<&str> = groups.into_iter().collect();
    let mut pause = DISCOVERY_RETRY;
    loop {
        match Discovery::new(client.clone()).filter(&groups).run().await {
            Ok(discovery) => return discovery,
            Err(error) => {
                tracing::warn!(%error, retry_seconds = pause.as_secs(), "discovering the custom resources failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(DISCOVERY_RETRY_MAX);
            }
        }
    }
}

fn spawn_reflector<K>(
    writer: reflector::store::Writer<K>,
    api: Api<K>,
    config: watcher::Config,
    kind: &str,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    let events = watcher::watcher(api, config)
        .default_backoff()
        .modify(trim)
        .filter_map(|event| ready(event.map(drop_controlled).transpose()));
    let kind = kind.to_string();
    tokio::spawn(reflector::reflector(writer, events).for_each(move |event| {
        if let Err(error) = event {
            tracing::warn!(kind = %kind, %error, "watching the cluster failed; retrying");
        }
        ready(())
    }));
}

/// Drops what says nothing about ports and can be large.
fn trim<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
    if let Some(annotations) = object.meta_mut().annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// Leaves out objects a controller owns; one that gets an owner is removed from the store.
fn drop_controlled<K: Resource>(event: Event<K>) -> Option<Event<K>> {
    match event {
        Event::InitApply(object) if controlled(&object) => None,
        Event::Apply(object) if controlled(&object) => Some(Event::Delete(object)),
        other => Some(other),
    }
}

fn controlled<K: Resource>(object: &K) -> bool {
    object
        .meta()
        .owner_references
        .as_ref()
        .is_some_and(|owners| owners.iter().any(|o| o.controller == Some(true)))
}

/// Connects with the in-cluster service account, or the kubeconfig outside a cluster.
pub async fn client() -> Result<Client, kube::Error> {
    Client::try_default().await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache watches what `cluster` reads: every built-in row of the kinds table has
    /// its typed watch, and only ingress-nginx's ConfigMaps are watched by name.
    #[test]
    fn every_built_in_judged_kind_has_a_watch() {
        for kind in JUDGED_KINDS.iter().filter(|k| k.origin == Origin::BuiltIn) {
            assert!(built_in(kind).is_some(), "{} is not watched", kind.kind);
        }
        let configmaps = JUDGED_KINDS
            .iter()
            .find(|k| k.kind == "ConfigMap")
            .expect("ConfigMaps are judged");
        let selectors: Vec<Option<String>> = watch_configs(configmaps)
            .into_iter()
            .map(|c| c.field_selector)
            .collect();
        assert_eq!(
            selectors,
            [
                Some("metadata.name=tcp-services".to_string()),
                Some("metadata.name=udp-services".to_string())
            ]
        );
        let services = JUDGED_KINDS
            .iter()
            .find(|k| k.kind == "Service")
            .expect("Services are judged");
        assert_eq!(watch_configs(services).len(), 1);
        assert_eq!(watch_configs(services)[0].field_selector, None);
    }
}
