//! `--watch`: the cluster's objects that decide ports, kept in memory by kube-runtime
//! reflectors (a list, then a watch), so that a review sees the rest of the namespace.
//!
//! Objects a controller owns (the Pods of a ReplicaSet, the ReplicaSets of a Deployment,
//! the Jobs of a CronJob) are not kept: their owner's template already says what they
//! run, and keeping every Pod of a cluster would cost memory for nothing.

use std::fmt::Debug;
use std::future::ready;

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::review::{CachedObject, NamespaceView, ObjectKey};

/// The annotation `kubectl apply` leaves: a second copy of the object, not worth keeping.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// One reflector's store, whatever its kind.
trait Snapshot: Send + Sync {
    fn collect(&self, namespace: &str, into: &mut Vec<CachedObject>);
    fn len(&self) -> usize;
    /// Resolves once the first list has been stored.
    fn synced(&self) -> BoxFuture<'static, ()>;
}

impl<K> Snapshot for Store<K>
where
    K: Resource<DynamicType = ()> + Serialize + Clone + Send + Sync + 'static,
{
    fn collect(&self, namespace: &str, into: &mut Vec<CachedObject>) {
        // Cluster-scoped objects (Namespaces) belong to every namespace's view.
        let objects = self.state_filter(|o| o.namespace().is_none_or(|ns| ns == namespace));
        into.extend(objects.into_iter().map(|object| CachedObject {
            key: ObjectKey {
                kind: K::kind(&()).to_string(),
                namespace: object.namespace().unwrap_or_default(),
                name: object.name_any(),
            },
            // Typed Kubernetes objects always serialize; a null would only make the engine
            // report the object as unreadable.
            value: serde_json::to_value(object.as_ref()).unwrap_or_default(),
        }));
    }

    fn len(&self) -> usize {
        Store::len(self)
    }

    fn synced(&self) -> BoxFuture<'static, ()> {
        let store = self.clone();
        Box::pin(async move {
            // The writer lives as long as its reflector task, i.e. as long as the server.
            let _ = store.wait_until_ready().await;
        })
    }
}

/// The reflectors' stores.
pub struct Cache {
    stores: Vec<Box<dyn Snapshot>>,
}

impl Cache {
    /// Starts one reflector per kind on the tokio runtime; their stores fill in the
    /// background (see [`Cache::synced`]).
    pub fn start(client: &Client) -> Cache {
        let mut stores: Vec<Box<dyn Snapshot>> = Vec::new();
        reflect::<Namespace>(client, &mut stores);
        reflect::<Service>(client, &mut stores);
        reflect::<NetworkPolicy>(client, &mut stores);
        reflect::<Ingress>(client, &mut stores);
        reflect::<Pod>(client, &mut stores);
        reflect::<Deployment>(client, &mut stores);
        reflect::<StatefulSet>(client, &mut stores);
        reflect::<DaemonSet>(client, &mut stores);
        reflect::<ReplicaSet>(client, &mut stores);
        reflect::<Job>(client, &mut stores);
        reflect::<CronJob>(client, &mut stores);
        Cache { stores }
    }

    /// Resolves once every kind has been listed.
    pub async fn synced(&self) {
        futures::future::join_all(self.stores.iter().map(|s| s.synced())).await;
    }

    /// Objects held, for the metrics.
    pub fn len(&self) -> usize {
        self.stores.iter().map(|s| s.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl NamespaceView for Cache {
    fn objects(&self, namespace: &str) -> Vec<CachedObject> {
        let mut objects = Vec::new();
        for store in &self.stores {
            store.collect(namespace, &mut objects);
        }
        objects
    }
}

fn reflect<K>(client: &Client, stores: &mut Vec<Box<dyn Snapshot>>)
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
    let (reader, writer) = reflector::store::<K>();
    let events = watcher::watcher(Api::<K>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .modify(trim)
        .filter_map(|event| ready(event.map(drop_controlled).transpose()));
    let kind = K::kind(&()).to_string();
    tokio::spawn(reflector::reflector(writer, events).for_each(move |event| {
        if let Err(error) = event {
            tracing::warn!(kind = %kind, %error, "watching the cluster failed; retrying");
        }
        ready(())
    }));
    stores.push(Box::new(reader));
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
