package plan.environments_test

import rego.v1

import data.plan.environments

test_two_clusters_are_denied if {
	count(environments.deny) == 1 with input as {"units": [], "changed_files": ["clusters/staging/apps.yaml", "clusters/production/apps.yaml"]}
}

test_one_cluster_and_shared_files_are_allowed if {
	count(environments.deny) == 0 with input as {"units": [], "changed_files": ["clusters/staging/apps.yaml", "apps/base/web.yaml", "README.md"]}
}
