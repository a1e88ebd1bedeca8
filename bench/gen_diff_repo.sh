#!/usr/bin/env bash
# Generates a git repository for timing `kgate diff`: COUNT manifests (default 10000) spread over
# 20 Flux Kustomizations, committed as the base; then a head commit that changes 3 files (an
# image bump, a memory limit, one ConfigMap value).
#
#   bench/gen_diff_repo.sh /tmp/kgate-bench [COUNT]
#   cd /tmp/kgate-bench && time kgate diff --base HEAD~1 --head HEAD
set -euo pipefail

dir=${1:?usage: gen_diff_repo.sh DIR [COUNT]}
count=${2:-10000}
units=20
per_unit=$(( (count + units - 1) / units ))

rm -rf "$dir"
mkdir -p "$dir/clusters/prod"
cd "$dir"
git init -q -b main

for u in $(seq 1 $units); do
  cat >> clusters/prod/apps.yaml <<YAML
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: team-$u
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/team-$u
  prune: true
  targetNamespace: team-$u
  sourceRef:
    kind: GitRepository
    name: flux-system
YAML
done

deployment() { # name image memory
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $1
  labels: {app: $1, tier: backend}
spec:
  replicas: 2
  selector:
    matchLabels: {app: $1}
  template:
    metadata:
      labels: {app: $1}
    spec:
      containers:
        - name: app
          image: registry.example.com/$1:$2
          ports:
            - containerPort: 8080
              name: http
          env:
            - name: LOG_LEVEL
              value: info
            - name: CACHE_ENABLED
              value: "true"
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: $3}
YAML
}

n=0
for u in $(seq 1 $units); do
  d="apps/team-$u"
  mkdir -p "$d"
  for i in $(seq 1 "$per_unit"); do
    [ "$n" -ge "$count" ] && break
    case $(( i % 3 )) in
      0) deployment "svc-$i" "release-1175-bc23d9df" 512Mi > "$d/deploy-$i.yaml" ;;
      1) printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-%s\nspec:\n  selector: {app: svc-%s}\n  ports:\n    - port: 80\n      targetPort: http\n' "$i" "$i" > "$d/service-$i.yaml" ;;
      2) printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-%s\ndata:\n  mode: fast\n  retries: "3"\n' "$i" > "$d/config-$i.yaml" ;;
    esac
    n=$(( n + 1 ))
  done
done

git add -A
git -c user.name=bench -c user.email=bench@example.com commit -q -m "base: $n manifests"

sed -i 's/release-1175-bc23d9df/release-1179-344b590f/' apps/team-1/deploy-3.yaml
sed -i 's/memory: 512Mi}/memory: 1Gi}/' apps/team-2/deploy-6.yaml
sed -i 's/mode: fast/mode: safe/' apps/team-3/config-2.yaml
git -c user.name=bench -c user.email=bench@example.com commit -q -am "head: 3 files changed"
echo "$dir: $n manifests, base HEAD~1, head HEAD"
