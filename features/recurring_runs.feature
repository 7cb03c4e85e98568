@core @recurring-runs @requires-multiuser
Feature: Recurring runs belong to their experiment's namespace
  A recurring run (a job in v1beta1) lives in the namespace of its experiment and is
  authorized as the RBAC resource "jobs". Only people and service accounts with rights on jobs
  in that namespace may read it, switch it on or off, delete it or schedule one there; everyone
  else is refused exactly and changes nothing. Write operations are tried by the intruder
  first; the owner's same request then succeeds, so the refusal is about who asked.

  Background: alice's experiment and recurring runs, made by alice (the positive control)
    Given alice created an experiment "plans" in alice
    And alice created an enabled recurring run "daily" in the experiment "plans"
    And alice created a disabled recurring run "paused" in the experiment "plans"

  Scenario: A recurring run lives in its experiment's namespace
    Then the recurring run "daily" belongs to alice
    And the recurring run "paused" belongs to alice

  Scenario Outline: <actor> may read alice's recurring runs
    When <actor> gets the recurring run "daily"
    Then the request succeeds
    And the recurring run "daily" is unchanged
    When <actor> lists recurring runs of the experiment "plans"
    Then the listed recurring runs are exactly "daily", "paused"
    When <actor> lists recurring runs in alice
    Then the listed recurring runs are exactly "daily", "paused"

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: contributors with edit and view rights
      | actor  |
      | carol  |
      | victor |

  Scenario Outline: <actor> may not read alice's recurring runs
    When <actor> gets the recurring run "daily"
    Then the request <result>
    And the recurring run "daily" is unchanged
    When <actor> lists recurring runs of the experiment "plans"
    Then the request <result>
    When <actor> lists recurring runs in alice
    Then the request <result>

    Examples:
      | actor                 | result             |
      | bob                   | is denied          |
      | bob's service account | is denied          |
      | anonymous             | is unauthenticated |

    @roles
    Examples: a custom Role that grants experiments only
      | actor | result    |
      | rita  | is denied |

  Scenario Outline: <actor> may schedule recurring runs in alice's experiment
    When <actor> creates a recurring run "fresh" in the experiment "plans"
    Then the request succeeds
    And the recurring run "fresh" belongs to alice

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: a contributor with edit rights
      | actor |
      | carol |

  Scenario Outline: <actor> may not schedule a recurring run in alice's experiment
    When <actor> creates a recurring run "intruder" in the experiment "plans"
    Then the request <result>
    And no recurring run was created in alice
    And no recurring run was created in bob

    Examples:
      | actor                 | result             |
      | bob                   | is denied          |
      | bob's service account | is denied          |
      | anonymous             | is unauthenticated |

    @roles
    Examples: a viewer and a custom Role without rights on jobs
      | actor  | result    |
      | victor | is denied |
      | rita   | is denied |

  Scenario Outline: <actor> may not schedule a recurring run in bob's experiment
    Given bob created an experiment "bobs-plans" in bob
    And bob created a disabled recurring run "bobs-schedule" in the experiment "bobs-plans"
    When <actor> creates a recurring run "intruder" in the experiment "bobs-plans"
    Then the request is denied
    And no recurring run was created in bob
    And no recurring run was created in alice

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

  Scenario Outline: <actor> may disable, enable and delete alice's recurring runs
    When <actor> disables the recurring run "daily"
    Then the request succeeds
    And the recurring run "daily" is disabled
    When <actor> enables the recurring run "paused"
    Then the request succeeds
    And the recurring run "paused" is enabled
    When <actor> deletes the recurring run "daily"
    Then the request succeeds
    And the recurring run "daily" no longer exists

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: a contributor with edit rights
      | actor |
      | carol |

  Scenario Outline: <actor> may not <action> alice's recurring run "<name>"
    When <actor> <action>s the recurring run "<name>"
    Then the request <result>
    And the recurring run "<name>" is unchanged
    When alice <action>s the recurring run "<name>"
    Then the request succeeds

    Examples:
      | actor                 | action  | name   | result             |
      | bob                   | disable | daily  | is denied          |
      | bob                   | enable  | paused | is denied          |
      | bob                   | delete  | daily  | is denied          |
      | bob's service account | disable | daily  | is denied          |
      | bob's service account | enable  | paused | is denied          |
      | bob's service account | delete  | daily  | is denied          |
      | anonymous             | disable | daily  | is unauthenticated |
      | anonymous             | enable  | paused | is unauthenticated |
      | anonymous             | delete  | daily  | is unauthenticated |

    @roles
    Examples: a viewer and a custom Role without write rights on jobs
      | actor  | action  | name   | result    |
      | victor | disable | daily  | is denied |
      | victor | enable  | paused | is denied |
      | victor | delete  | daily  | is denied |
      | rita   | disable | daily  | is denied |
      | rita   | enable  | paused | is denied |
      | rita   | delete  | daily  | is denied |

  @ISO-003
  Scenario Outline: <actor> may not report a forged scheduled workflow for alice's recurring run
    When an admin reports the scheduled workflow of the recurring run "paused" as it is
    Then the request succeeds
    And the recurring run "paused" is unchanged
    When <actor> reports a forged scheduled workflow of the recurring run "daily"
    Then the request <result>
    And the recurring run "daily" is unchanged
    And the recurring run "daily" is enabled

    Examples:
      | actor     | result             |
      | bob       | is denied          |
      | alice     | is denied          |
      | anonymous | is unauthenticated |

  @ISO-007
  Scenario: alice may not schedule a recurring run of bob's private pipeline
    A recurring run that names a stored pipeline version runs it on every trigger, so it needs
    the right to read that pipeline (KFP 2.18, GHSA-v83x-544f-ph2r).

    Given bob created an experiment "bplans" in bob
    And bob created a pipeline "secret-flow" in bob
    And bob added a version "v1" to the pipeline "secret-flow"
    When bob creates a recurring run "own" of the version "v1" of the pipeline "secret-flow" in the experiment "bplans"
    Then the request succeeds
    When alice creates a recurring run "borrowed" of the version "v1" of the pipeline "secret-flow" in the experiment "plans"
    Then the request is denied
    And no recurring run was created in alice

  Scenario: Recurring run lists never show another tenant's recurring runs
    Given bob created an experiment "bobs-plans" in bob
    And bob created a disabled recurring run "bobs-schedule" in the experiment "bobs-plans"
    When alice lists recurring runs in alice
    Then the listed recurring runs are exactly "daily", "paused"
    When bob lists recurring runs in bob
    Then the listed recurring runs are exactly "bobs-schedule"
    When bob lists recurring runs of the experiment "bobs-plans"
    Then the listed recurring runs are exactly "bobs-schedule"

  Scenario: A recurring run's namespace must be its experiment's namespace
    When alice creates a recurring run "astray" in the experiment "plans", naming the namespace of bob
    Then the request fails with 400 "Experiment {experiment:plans} belongs to namespace '{namespace:alice}' instead of '{namespace:bob}'"
    And no recurring run was created in alice
    And no recurring run was created in bob

  Scenario: A v1beta1 job's NAMESPACE reference must name its experiment's namespace
    Given alice created a v1beta1 job "aligned" in the experiment "plans" with a NAMESPACE reference to alice
    Then the recurring run "aligned" belongs to alice
    When alice creates a v1beta1 job "astray" in the experiment "plans" with a NAMESPACE reference to bob
    Then the request fails with 400 "Experiment {experiment:plans} belongs to namespace '{namespace:alice}' instead of '{namespace:bob}'"
    And no recurring run was created in alice
    And no recurring run was created in bob

  Scenario: bob may not schedule a v1beta1 job in alice's experiment, whatever namespace he names
    When bob creates a v1beta1 job "intruder" in the experiment "plans" with a NAMESPACE reference to alice
    Then the request is denied
    And no recurring run was created in alice
    When bob creates a v1beta1 job "intruder" in the experiment "plans" with a NAMESPACE reference to bob
    Then the request fails with 400 "Experiment {experiment:plans} belongs to namespace '{namespace:alice}' instead of '{namespace:bob}'"
    And no recurring run was created in alice
    And no recurring run was created in bob
