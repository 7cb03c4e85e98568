@core @runs @requires-multiuser
Feature: Runs belong to their experiment's namespace
  A run has no namespace input of its own: it lives in the namespace of the experiment it was
  started in. Only people and service accounts with rights on runs in that namespace may read
  it, change it or start one there; everyone else is refused exactly (403 PermissionDenied, or
  401 without identity) and changes nothing. Write operations are tried by the intruder first;
  the owner's same request then succeeds, so the refusal is about who asked.

  Background: alice's experiment and runs, made by alice (the positive control)
    Given alice created an experiment "plans" in alice
    And alice created a run "r1" in the experiment "plans"
    And alice created a run "old" in the experiment "plans"
    And alice archived the run "old"

  Scenario: A run lives in its experiment's namespace
    Then the run "r1" belongs to alice
    And the run "old" belongs to alice

  Scenario Outline: <actor> may read alice's runs
    When <actor> gets the run "r1"
    Then the request succeeds
    And the run "r1" is unchanged
    When <actor> lists runs of the experiment "plans"
    Then the listed runs are exactly "old", "r1"
    When <actor> lists runs in alice
    Then the listed runs are exactly "old", "r1"

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: contributors with edit and view rights
      | actor  |
      | carol  |
      | victor |

  Scenario Outline: <actor> may not read alice's runs
    When <actor> gets the run "r1"
    Then the request <result>
    And the run "r1" is unchanged
    When <actor> lists runs of the experiment "plans"
    Then the request <result>
    When <actor> lists runs in alice
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

  Scenario Outline: <actor> may start runs in alice's experiment
    When <actor> creates a run "fresh" in the experiment "plans"
    Then the request succeeds
    And the run "fresh" belongs to alice

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: a contributor with edit rights
      | actor |
      | carol |

  Scenario Outline: <actor> may not start a run in alice's experiment
    When <actor> creates a run "intruder" in the experiment "plans"
    Then the request <result>
    And no run was created in alice
    And no run was created in bob

    Examples:
      | actor                 | result             |
      | bob                   | is denied          |
      | bob's service account | is denied          |
      | anonymous             | is unauthenticated |

    @roles
    Examples: a viewer and a custom Role without rights on runs
      | actor  | result    |
      | victor | is denied |
      | rita   | is denied |

  Scenario Outline: <actor> may not start a run in bob's experiment
    Given bob created an experiment "bobs-plans" in bob
    And bob created a run "bobs-run" in the experiment "bobs-plans"
    When <actor> creates a run "intruder" in the experiment "bobs-plans"
    Then the request is denied
    And no run was created in bob
    And no run was created in alice

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

  Scenario Outline: <actor> may archive, unarchive, terminate and delete alice's runs
    When <actor> archives the run "r1"
    Then the request succeeds
    And the run "r1" is archived
    When <actor> unarchives the run "old"
    Then the request succeeds
    And the run "old" is available
    When <actor> terminates the run "old"
    Then the request succeeds
    And the run "old" is being canceled
    When <actor> deletes the run "r1"
    Then the request succeeds
    And the run "r1" no longer exists

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: a contributor with edit rights
      | actor |
      | carol |

  Scenario Outline: <actor> may retry alice's finished run
    Given the run "r1" has finished
    When <actor> retries the run "r1"
    Then the request succeeds
    And the run "r1" started again

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: a contributor with edit rights
      | actor |
      | carol |

  Scenario Outline: <actor> may not <action> alice's run "<name>"
    When <actor> <action>s the run "<name>"
    Then the request <result>
    And the run "<name>" is unchanged
    When alice <action>s the run "<name>"
    Then the request succeeds

    Examples:
      | actor                 | action    | name | result             |
      | bob                   | archive   | r1   | is denied          |
      | bob                   | unarchive | old  | is denied          |
      | bob                   | terminate | r1   | is denied          |
      | bob                   | delete    | r1   | is denied          |
      | bob's service account | archive   | r1   | is denied          |
      | bob's service account | unarchive | old  | is denied          |
      | bob's service account | terminate | r1   | is denied          |
      | bob's service account | delete    | r1   | is denied          |
      | anonymous             | archive   | r1   | is unauthenticated |
      | anonymous             | unarchive | old  | is unauthenticated |
      | anonymous             | terminate | r1   | is unauthenticated |
      | anonymous             | delete    | r1   | is unauthenticated |

    @roles
    Examples: a viewer and a custom Role without write rights on runs
      | actor  | action    | name | result    |
      | victor | archive   | r1   | is denied |
      | victor | unarchive | old  | is denied |
      | victor | terminate | r1   | is denied |
      | victor | delete    | r1   | is denied |
      | rita   | archive   | r1   | is denied |
      | rita   | unarchive | old  | is denied |
      | rita   | terminate | r1   | is denied |
      | rita   | delete    | r1   | is denied |

  Scenario Outline: <actor> may not retry alice's finished run
    Given the run "r1" has finished
    When <actor> retries the run "r1"
    Then the request <result>
    And the run "r1" is unchanged
    When alice retries the run "r1"
    Then the request succeeds
    And the run "r1" started again

    Examples:
      | actor                 | result             |
      | bob                   | is denied          |
      | bob's service account | is denied          |
      | anonymous             | is unauthenticated |

    @roles
    Examples: a viewer and a custom Role without write rights on runs
      | actor  | result    |
      | victor | is denied |
      | rita   | is denied |

  Scenario: Run lists never show another tenant's runs
    Given bob created an experiment "bobs-plans" in bob
    And bob created a run "bobs-run" in the experiment "bobs-plans"
    When alice lists runs in alice
    Then the listed runs are exactly "old", "r1"
    When bob lists runs in bob
    Then the listed runs are exactly "bobs-run"
    When bob lists runs of the experiment "bobs-plans"
    Then the listed runs are exactly "bobs-run"
    When alice lists runs of the experiment "plans"
    Then the listed runs are exactly "old", "r1"

  Scenario: A v1beta1 run's NAMESPACE reference must name its experiment's namespace
    Given alice created a v1beta1 run "aligned" in the experiment "plans" with a NAMESPACE reference to alice
    Then the run "aligned" belongs to alice
    When alice creates a v1beta1 run "astray" in the experiment "plans" with a NAMESPACE reference to bob
    Then the request fails with 400 "Experiment {experiment:plans} belongs to namespace '{namespace:alice}' instead of '{namespace:bob}'"
    And no run was created in alice
    And no run was created in bob

  Scenario: bob may not start a v1beta1 run in alice's experiment, whatever namespace he names
    When bob creates a v1beta1 run "intruder" in the experiment "plans" with a NAMESPACE reference to alice
    Then the request is denied
    And no run was created in alice
    When bob creates a v1beta1 run "intruder" in the experiment "plans" with a NAMESPACE reference to bob
    Then the request fails with 400 "Experiment {experiment:plans} belongs to namespace '{namespace:alice}' instead of '{namespace:bob}'"
    And no run was created in alice
    And no run was created in bob

  @ISO-003
  Scenario Outline: <actor> may not report a forged workflow for alice's run
    Given alice created a run "r2" in the experiment "plans"
    When an admin reports a workflow of the run "r2" with the phase "Failed"
    Then the request succeeds
    And the run "r2" ended "FAILED"
    When <actor> reports a workflow of the run "r1" with the phase "Failed"
    Then the request <result>
    And the run "r1" is unchanged
    And the run "r1" has not ended "FAILED"

    Examples:
      | actor     | result             |
      | bob       | is denied          |
      | alice     | is denied          |
      | anonymous | is unauthenticated |

  @ISO-002 @requires-data-plane
  Scenario: bob cannot read an output artifact of alice's v1 run through the API server
    Given alice's v1 run "legacy" of the producer workflow in the experiment "plans" has finished
    Then the workflow of the run "legacy" names the output artifact "data"
    And alice reads the output artifact "data" of the run "legacy" from the object store
    When bob reads the output artifact "data" of the run "legacy" through the API server
    Then the API server refuses with 403 "Failed to authorize the request: Failed to access run {run:legacy}. Check if you have access to namespace {namespace:alice}: Unauthenticated: Failed to check authorization. User identity is empty in the request header: Unauthenticated: Request header error: there is no user identity header.: Request header error: there is no user identity header."
    And the answer holds none of the output artifact "data" of the run "legacy"

  @ISO-009 @requires-data-plane
  Scenario: bob cannot read the log of a pod of alice's run through the API server
    Given alice's run "job" of the producer pipeline in the experiment "plans" has finished
    And the log of a pod of the run "job" is not empty
    When bob reads the log of a pod of the run "job" through the API server
    Then the API server refuses with 403
    And the answer holds none of the log of the run "job"
