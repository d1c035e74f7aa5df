"""The Gati Kubernetes operator (kopf): runs each live version of an app, rolls new versions out
by weight behind a readiness gate with automatic rollback, and decommissions drained versions.

`crds` (the CustomResourceDefinitions) → `logic` (pure decisions over API objects) → `kube` (a
small API client) → `handlers` (the kopf handlers). Run it with `kopf run -m gati_operator.handlers`.
"""

GROUP = "gati.dev"
VERSION = "v1alpha1"
