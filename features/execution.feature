@data-plane @execution @requires-multiuser @requires-data-plane
Feature: Runs execute in their namespace
  A run becomes an Argo Workflow in its experiment's namespace, and every pod of it runs there,
  as the namespace's "default-editor" service account unless the run names another account.
  A run can never borrow another namespace's service account, and the Secrets
  and ConfigMaps a pipeline names (kfp-kubernetes) are always looked up in the run's own
  namespace. What the suite checks here it reads from the Kubernetes API as the operator.

  Background: alice's experiment
    Given alice created an experiment "work" in alice

  Scenario: A run becomes a workflow in its experiment's namespace, run by default-editor
    Given alice's run "r1" of the producer pipeline in the experiment "work" has finished
    Then the run "r1" ended "SUCCEEDED"
    And the run "r1" executed only in alice, as the service account "default-editor"

  Scenario: A run cannot borrow another namespace's service account
    The account exists, but only in bob: the pods of alice's run would need it in alice, where
    Kubernetes refuses to create them, so the run fails. (KFP 2.18 and later may refuse the run
    itself, checking that alice may use the account: that is as good.) Nothing of it runs in bob.

    Given a new service account "runner" in bob that may edit there
    And alice's run "own" of the producer pipeline in the experiment "work" as "default-editor" has finished
    And the run "own" ended "SUCCEEDED"
    When alice tries a run "borrow" of the producer pipeline in the experiment "work" as "runner"
    Then the run "borrow" is refused, or fails reporting 'error looking up service account {namespace:alice}/{account:runner}: serviceaccount "{account:runner}" not found'
    And nothing of the run "borrow" ran in bob

  Scenario: Each tenant's run of the same pipeline reads its own namespace's secret
    Given bob created an experiment "bwork" in bob
    And a secret "api-token" in alice holding "alice-token"
    And a secret "api-token" in bob holding "bob-token-longer"
    When alice starts a run "a" of the pipeline reading the secret "api-token" in the experiment "work"
    And bob starts a run "b" of the pipeline reading the secret "api-token" in the experiment "bwork"
    And the run "a" has finished
    And the run "b" has finished
    Then the run "a" ended "SUCCEEDED"
    And the run "b" ended "SUCCEEDED"
    And the pods of the run "a" read the secret "api-token" in alice
    And the pods of the run "b" read the secret "api-token" in bob

  Scenario: A secret that only another namespace holds leaves the run's pod waiting
    The pod is created in alice, where the secret does not exist: the kubelet cannot start its
    container, and KFP never succeeds the run.

    Given a secret "bob-only" in bob holding "bob-secret"
    When alice starts a run "a" of the pipeline reading the secret "bob-only" in the experiment "work"
    Then a pod of the run "a" waits with "CreateContainerConfigError" and 'secret "{secret:bob-only}" not found'
    And the run "a" has not succeeded
