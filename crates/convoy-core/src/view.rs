//! A read-only view of the objects admission may look up, and an in-memory implementation.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use convoy_api::{ClusterPromotionTask, Freight, Kind, PromotionTask, Resource, Stage, Warehouse};

/// What admission may read besides the object it checks. Cluster-scoped kinds use project `""`.
pub trait View {
    fn get(&self, kind: Kind, project: &str, name: &str) -> Option<&Resource>;
    fn list(&self, kind: Kind, project: &str) -> Vec<&Resource>;
    /// Whether a missing object is really missing (a server's store) or just not among the
    /// files at hand (lint), in which case references to it are only warned about.
    fn is_complete(&self) -> bool;

    /// Where an object that is among the files at hand but could not be read was written
    /// (lint), so a reference to it is not reported as missing.
    fn unreadable(&self, _kind: Kind, _project: &str, _name: &str) -> Option<&str> {
        None
    }

    /// The names of the Freight of `project` carrying `alias` (aliases are unique per project,
    /// so at most a few). Views that can should answer from an index: admission asks once per
    /// Freight.
    fn freight_with_alias(&self, project: &str, alias: &str) -> Vec<String> {
        self.list(Kind::Freight, project)
            .into_iter()
            .filter_map(|r| match r {
                Resource::Freight(f) if f.alias.as_deref() == Some(alias) => Some(f.metadata.name().to_owned()),
                _ => None,
            })
            .collect()
    }
}

/// Typed look-ups over any [`View`].
pub trait ViewExt: View {
    fn stage(&self, project: &str, name: &str) -> Option<&Stage> {
        match self.get(Kind::Stage, project, name) {
            Some(Resource::Stage(s)) => Some(s),
            _ => None,
        }
    }

    fn warehouse(&self, project: &str, name: &str) -> Option<&Warehouse> {
        match self.get(Kind::Warehouse, project, name) {
            Some(Resource::Warehouse(w)) => Some(w),
            _ => None,
        }
    }

    fn promotion_task(&self, project: &str, name: &str) -> Option<&PromotionTask> {
        match self.get(Kind::PromotionTask, project, name) {
            Some(Resource::PromotionTask(t)) => Some(t),
            _ => None,
        }
    }

    fn cluster_promotion_task(&self, name: &str) -> Option<&ClusterPromotionTask> {
        match self.get(Kind::ClusterPromotionTask, "", name) {
            Some(Resource::ClusterPromotionTask(t)) => Some(t),
            _ => None,
        }
    }

    fn freight(&self, project: &str) -> Vec<&Freight> {
        self.list(Kind::Freight, project)
            .into_iter()
            .filter_map(|r| match r {
                Resource::Freight(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    fn stages(&self, project: &str) -> Vec<&Stage> {
        self.list(Kind::Stage, project)
            .into_iter()
            .filter_map(|r| match r {
                Resource::Stage(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    fn names(&self, kind: Kind, project: &str) -> Vec<&str> {
        self.list(kind, project).into_iter().map(|r| r.metadata().name()).collect()
    }
}

impl<T: View + ?Sized> ViewExt for T {}

/// Objects held in memory, keyed by kind, project and name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    objects: BTreeMap<(Kind, String, String), Resource>,
    /// (project, alias) → Freight names, and each Freight's alias: for the Freight held here and
    /// for those only noted ([`Catalog::note_alias`]).
    aliases: HashMap<(String, String), BTreeSet<String>>,
    alias_of: HashMap<(String, String), String>,
    /// Objects of the files at hand that did not decode, and where they are.
    unreadable: BTreeMap<(Kind, String, String), String>,
    complete: bool,
}

impl Catalog {
    /// A catalog that stands for everything there is (as a store would).
    pub fn complete() -> Self {
        Catalog { complete: true, ..Catalog::default() }
    }

    /// A catalog of some files; absence means "not among these files".
    pub fn partial() -> Self {
        Catalog::default()
    }

    /// Adds or replaces an object; returns the one it replaced.
    pub fn insert(&mut self, resource: Resource) -> Option<Resource> {
        let kind = resource.kind();
        let project = if kind.is_cluster_scoped() { String::new() } else { resource.metadata().namespace().to_owned() };
        let key = (kind, project, resource.metadata().name().to_owned());
        if let Resource::Freight(f) = &resource {
            self.note_alias(f.metadata.namespace(), f.metadata.name(), f.alias.as_deref());
        }
        self.objects.insert(key, resource)
    }

    pub fn remove(&mut self, kind: Kind, project: &str, name: &str) -> Option<Resource> {
        if kind == Kind::Freight {
            self.note_alias(project, name, None);
        }
        self.objects.remove(&(kind, project.to_owned(), name.to_owned()))
    }

    /// Records that Freight `name` of `project` carries `alias` (or none), without holding the
    /// Freight: admission checks aliases against a whole project without reading its Freight.
    pub fn note_alias(&mut self, project: &str, name: &str, alias: Option<&str>) {
        let id = (project.to_owned(), name.to_owned());
        if let Some(old) = self.alias_of.remove(&id) {
            let slot = (project.to_owned(), old);
            if let Some(names) = self.aliases.get_mut(&slot) {
                names.remove(name);
                if names.is_empty() {
                    self.aliases.remove(&slot);
                }
            }
        }
        if let Some(alias) = alias.filter(|a| !a.is_empty()) {
            self.aliases.entry((project.to_owned(), alias.to_owned())).or_default().insert(name.to_owned());
            self.alias_of.insert(id, alias.to_owned());
        }
    }

    /// Records that the files hold `kind` `project/name` at `place` but it could not be read.
    pub fn note_unreadable(&mut self, kind: Kind, project: &str, name: &str, place: String) {
        let project = if kind.is_cluster_scoped() { "" } else { project };
        self.unreadable.insert((kind, project.to_owned(), name.to_owned()), place);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.objects.values()
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

impl View for Catalog {
    fn get(&self, kind: Kind, project: &str, name: &str) -> Option<&Resource> {
        self.objects.get(&(kind, project.to_owned(), name.to_owned()))
    }

    fn list(&self, kind: Kind, project: &str) -> Vec<&Resource> {
        self.objects
            .range((kind, project.to_owned(), String::new())..)
            .take_while(|((k, p, _), _)| *k == kind && p == project)
            .map(|(_, r)| r)
            .collect()
    }

    fn is_complete(&self) -> bool {
        self.complete
    }

    fn unreadable(&self, kind: Kind, project: &str, name: &str) -> Option<&str> {
        self.unreadable.get(&(kind, project.to_owned(), name.to_owned())).map(String::as_str)
    }

    fn freight_with_alias(&self, project: &str, alias: &str) -> Vec<String> {
        self.aliases
            .get(&(project.to_owned(), alias.to_owned()))
            .map(|n| n.iter().cloned().collect())
            .unwrap_or_default()
    }
}
