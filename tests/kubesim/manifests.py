"""One object of every kind kubesim stores, as a multi-document manifest for kubectl."""

from __future__ import annotations

LAB_IMAGE = "example.org/jupyterlab:4.2"  # unknown to the demo registry: pulled as is

EVERY_KIND = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: demo}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: demo}}
data: {{a: "1", b: "2"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: token, namespace: demo}}
stringData: {{token: not-a-real-secret}}
---
apiVersion: v1
kind: Service
metadata: {{name: lab, namespace: demo}}
spec:
  selector: {{app: lab}}
  ports: [{{name: http, port: 80, targetPort: 8888}}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: scratch, namespace: demo}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: v1
kind: ResourceQuota
metadata: {{name: quota, namespace: demo}}
spec: {{hard: {{pods: "10", limits.cpu: "4"}}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: robot, namespace: demo}}
---
apiVersion: v1
kind: LimitRange
metadata: {{name: limits, namespace: demo}}
spec:
  limits: [{{type: Container, default: {{cpu: 500m}}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: lab, namespace: demo}}
spec:
  podSelector: {{matchLabels: {{app: lab}}}}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: lab, namespace: demo}}
spec:
  ingressClassName: nginx
  rules:
    - host: lab.example.org
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {{service: {{name: lab, port: {{number: 80}}}}}}
---
apiVersion: batch/v1
kind: Job
metadata: {{name: migrate, namespace: demo}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: copy, image: example.org/tools:1, command: [/bin/true]}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: demo}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: example.org/web:1.0}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: web, namespace: demo}}
spec:
  minAvailable: 1
  selector: {{matchLabels: {{app: web}}}}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {{name: controller, namespace: demo}}
spec:
  holderIdentity: replica-a
  leaseDurationSeconds: 15
  renewTime: "2026-12-05T13:00:00.000000Z"
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: reader, namespace: demo}}
rules:
  - {{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: reader, namespace: demo}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}}
subjects:
  - {{kind: ServiceAccount, name: robot, namespace: demo}}
  - {{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: demo-nodes}}
rules:
  - {{apiGroups: [""], resources: [nodes], verbs: [get, list]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: demo-nodes}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: demo-nodes}}
subjects:
  - {{kind: Group, name: admins, apiGroup: rbac.authorization.k8s.io}}
---
apiVersion: gafaelfawr.lsst.io/v1alpha1
kind: GafaelfawrIngress
metadata: {{name: files, namespace: demo}}
config: {{baseUrl: "https://lab.example.org", scopes: {{all: [read:image]}}}}
template:
  metadata: {{name: files}}
  spec: {{rules: [{{host: lab.example.org}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: lab, namespace: demo, labels: {{app: lab}}}}
spec:
  initContainers:
    - {{name: inithome, image: "example.org/nublado:15", command: [nublado, inithome]}}
  containers:
    - name: notebook
      image: {LAB_IMAGE}
      args: [/opt/lsst/software/jupyterlab/runlab.sh]
      ports: [{{containerPort: 8888, name: jupyterlab}}]
      env:
        - {{name: JUPYTERHUB_SERVICE_PREFIX, value: /nb/user/alice/}}
        - {{name: USER, value: alice}}
"""
