#!/usr/bin/env python3
"""Generates a synthetic GitOps repository of N realistic manifests for kgate's benchmark.

Deterministic (seeded): the same N gives the same bytes. Mixed kinds, multi-document files,
anchors/aliases and merge keys, as real repositories have them. All documents are valid, so the
benchmark measures the common case (nothing to report).

usage: gen_corpus.py N OUTDIR
"""
import os
import random
import sys

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: &labels
    app.kubernetes.io/name: {name}
    app.kubernetes.io/part-of: {team}
  annotations:
    kgate.dev/owner: {team}
spec:
  replicas: {replicas}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
    spec:
      serviceAccountName: {name}
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: app
          image: registry.example.com/{team}/{name}:release-{rel}-{sha}
          imagePullPolicy: IfNotPresent
          args: ["--port=8080", "--log-level=info"]
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          env:
            - name: LOG_LEVEL
              value: info
            - name: CACHE_ENABLED
              value: "true"
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {name}-db
                  key: password
          resources: &res
            requests:
              cpu: {cpu}m
              memory: {mem}Mi
            limits:
              memory: {memlim}Mi
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            periodSeconds: 10
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            initialDelaySeconds: 5
          volumeMounts:
            - name: config
              mountPath: /etc/{name}
              readOnly: true
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
      volumes:
        - name: config
          configMap:
            name: {name}-config
"""

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {name}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: {name}
  ports:
    - name: http
      port: 80
      targetPort: http
      protocol: TCP
"""

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
  namespace: {ns}
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "search,export"
  config.yaml: |
    server:
      port: 8080
      timeout: 30s
    upstreams:
      - http://{name}-backend.{ns}.svc:80
"""

INGRESS = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
  namespace: {ns}
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt
spec:
  ingressClassName: nginx
  tls:
    - hosts: [{name}.example.com]
      secretName: {name}-tls
  rules:
    - host: {name}.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {name}
                port:
                  name: http
"""

HPA = """apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
  namespace: {ns}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
"""

CRONJOB = """apiVersion: batch/v1
kind: CronJob
metadata:
  name: {name}-cleanup
  namespace: {ns}
spec:
  schedule: "0 3 * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: cleanup
              image: registry.example.com/{team}/cleanup@sha256:{digest}
              args: ["--older-than=7d"]
              resources:
                requests: {{cpu: 50m, memory: 64Mi}}
                limits: {{memory: 128Mi}}
"""

RBAC = """apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  namespace: {ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {name}
  namespace: {ns}
rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {name}
  namespace: {ns}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {name}
subjects:
  - kind: ServiceAccount
    name: {name}
    namespace: {ns}
"""

PDB = """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
  namespace: {ns}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
"""


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    total = int(sys.argv[1])
    out = sys.argv[2]
    rng = random.Random(42)
    teams = ["payments", "search", "checkout", "identity", "platform", "data"]
    written = 0
    app = 0
    while written < total:
        team = teams[app % len(teams)]
        ns = f"{team}-prod"
        name = f"svc-{app:05d}"
        p = dict(
            name=name, ns=ns, team=team, replicas=rng.randint(2, 6),
            rel=rng.randint(1000, 9999), sha="%08x" % rng.getrandbits(32),
            cpu=rng.choice([50, 100, 250, 500]), mem=rng.choice([64, 128, 256]),
            memlim=512, digest="%064x" % rng.getrandbits(256),
        )
        folder = os.path.join(out, "apps", team, name)
        os.makedirs(folder, exist_ok=True)
        # One multi-document file for the workload, separate files for the rest.
        files = {
            "workload.yaml": [DEPLOYMENT, SERVICE, CONFIGMAP],
            "ingress.yaml": [INGRESS],
            "hpa.yaml": [HPA, PDB],
            "cronjob.yaml": [CRONJOB],
            "rbac.yaml": [RBAC],
        }
        for fname, docs in files.items():
            if written >= total:
                break
            texts = []
            for d in docs:
                n = d.count("\n---\n") + 1
                if written + n > total and texts:
                    break
                texts.append(d.format(**p))
                written += n
            with open(os.path.join(folder, fname), "w") as f:
                f.write("---\n".join(texts))
        app += 1
    print(f"wrote {written} documents under {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
