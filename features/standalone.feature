@standalone @requires-standalone
Feature: Standalone KFP serves everyone in one shared scope
  A standalone (single-user) deployment documents no identity and no namespaces: any caller may
  create and list experiments, the namespace a request names is replaced by the empty one
  (spec 3.1, SU) and one server-wide "Default" experiment exists from the start (spec 4.6).
  Multi-user isolation is only offered by full Kubeflow.

  Scenario: Without any identity, anonymous creates and lists experiments
    When anonymous creates an experiment "kfp-isolation-notes" in alice
    Then the request succeeds
    When anonymous lists the experiments named "kfp-isolation-notes"
    Then the request succeeds
    And the list shows exactly "kfp-isolation-notes"
    And total_size is 1

  Scenario: The namespace a request names is ignored
    When anonymous creates an experiment "kfp-isolation-notes" in alice
    Then the request succeeds
    And the experiment "kfp-isolation-notes" has no namespace
    When anonymous lists the experiments named "kfp-isolation-notes" in bob
    Then the request succeeds
    And the list shows exactly "kfp-isolation-notes"

  Scenario: The server-wide default experiment exists
    When anonymous lists the experiments named "Default"
    Then the request succeeds
    And the list shows exactly "Default"
    And the listed experiment "Default" has no namespace and the description "All runs created without specifying an experiment will be grouped here."
