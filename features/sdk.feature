@core @sdk @requires-multiuser @requires-sdk
Feature: The kfp SDK's namespace handling
  The kfp 2 client sends the namespace a call names, or else the user namespace of its context
  ($HOME/.config/kfp/context.json, written by set_user_namespace); runs carry no namespace and
  land in their experiment's. The server decides, so the SDK's choices never widen anyone's
  rights: a stranger's call is refused with the server's exact 403, raised as an ApiException.

  Background: an experiment in each tenant, made by its owner (the positive control)
    Given alice created an experiment "plans" in alice
    And bob created an experiment "bobs-plans" in bob

  Scenario: create_experiment with a namespace creates the experiment there
    When alice creates an experiment "sdk-notes" in alice with the SDK
    Then the SDK call succeeds
    And the experiment "sdk-notes" belongs to alice
    When alice lists experiments in alice with the SDK
    Then the SDK listed exactly "plans", "sdk-notes"
    When bob lists experiments in bob with the SDK
    Then the SDK listed exactly "bobs-plans"

  Scenario: bob's SDK can neither create nor list experiments in alice
    When alice lists experiments in alice with the SDK
    Then the SDK listed exactly "plans"
    When bob creates an experiment "intruder" in alice with the SDK
    Then the SDK call is denied
    And nothing was created in alice
    When bob lists experiments in alice with the SDK
    Then the SDK call is denied

  Scenario: set_user_namespace makes alice's namespace the SDK's default
    When alice sets the SDK's user namespace to alice
    Then alice's SDK context names alice
    When alice creates an experiment "by-default" with the SDK
    Then the SDK call succeeds
    And the experiment "by-default" belongs to alice
    When alice lists experiments with the SDK
    Then the SDK listed exactly "by-default", "plans"

  Scenario: A stranger's default namespace does not open alice's
    When bob sets the SDK's user namespace to alice
    Then bob's SDK context names alice
    When bob creates an experiment "intruder" with the SDK
    Then the SDK call is denied
    And nothing was created in alice
    When bob lists experiments with the SDK
    Then the SDK call is denied

  Scenario: Runs started with the SDK land in their experiment's namespace
    When alice runs the pipeline package as "nightly" in the experiment "plans" with the SDK
    Then the SDK call succeeds
    And the run "nightly" started with the SDK belongs to alice
    When alice runs the pipeline package as "adhoc" in a new experiment "sdk-adhoc" in alice with the SDK
    Then the SDK call succeeds
    And the experiment "sdk-adhoc" belongs to alice
    And the run "adhoc" started with the SDK belongs to alice
    When alice lists runs of the experiment "plans" with the SDK
    Then the SDK listed exactly "nightly"
    When alice lists runs in alice with the SDK
    Then the SDK listed exactly "adhoc", "nightly"
    When bob lists runs in bob with the SDK
    Then the SDK listed exactly nothing

  Scenario: bob's SDK can neither start nor list runs in alice's experiment
    When alice lists runs of the experiment "plans" with the SDK
    Then the SDK listed exactly nothing
    When bob runs the pipeline package as "intruder" in the experiment "plans" with the SDK
    Then the SDK call is denied
    When bob lists runs of the experiment "plans" with the SDK
    Then the SDK call is denied
    When bob lists runs in alice with the SDK
    Then the SDK call is denied
    When alice lists runs in alice with the SDK
    Then the SDK listed exactly nothing
