@core @experiments @requires-multiuser
Feature: Experiments belong to a namespace
  An experiment lives in the namespace it was created in. Only people and service accounts
  with rights in that namespace may read it, change it or create one there; everyone else is
  refused exactly (403 PermissionDenied, or 401 without identity) and changes nothing.

  Background: alice's own experiments, made by alice (the positive control)
    Given alice created an experiment "plans" in alice
    And alice created an experiment "old" in alice
    And alice archived the experiment "old"

  Scenario Outline: <actor> may read alice's experiment
    When <actor> gets the experiment "plans"
    Then the request succeeds
    And the experiment "plans" is unchanged

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: contributors
      | actor                   |
      | carol                   |
      | victor                  |

    @roles
    Examples: a custom Role that grants get and list only
      | actor |
      | rita  |

  Scenario Outline: <actor> may list alice's experiments
    When <actor> lists experiments in alice
    Then the request succeeds
    And the list shows exactly "old", "plans"
    And total_size is 2

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: contributors
      | actor                   |
      | carol                   |
      | victor                  |

    @roles
    Examples: a custom Role that grants get and list only
      | actor |
      | rita  |

  Scenario Outline: <actor> may not read alice's experiments
    When <actor> gets the experiment "plans"
    Then the request <result>
    When <actor> lists experiments in alice
    Then the request <result>

    Examples:
      | actor                 | result             |
      | bob                   | is denied          |
      | bob's service account | is denied          |
      | anonymous             | is unauthenticated |

  Scenario Outline: <actor> may create experiments in alice
    When <actor> creates an experiment "draft" in alice
    Then the request succeeds
    And the experiment "draft" belongs to alice

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: contributors
      | actor                   |
      | carol                   |

  Scenario Outline: <actor> may not create experiments in <tenant>
    When <actor> creates an experiment "intruder" in <tenant>
    Then the request <result>
    And nothing was created in <tenant>

    Examples:
      | actor                   | tenant | result             |
      | bob                     | alice  | is denied          |
      | bob's service account   | alice  | is denied          |
      | anonymous               | alice  | is unauthenticated |
      | alice                   | bob    | is denied          |
      | alice's service account | bob    | is denied          |

    @roles
    Examples: contributors
      | actor                   | tenant | result             |
      | victor                  | alice  | is denied          |

    @roles
    Examples: a custom Role that grants get and list only
      | actor | tenant | result    |
      | rita  | alice  | is denied |

  Scenario Outline: <actor> may archive, unarchive and delete alice's experiments
    When <actor> archives the experiment "plans"
    Then the request succeeds
    And the experiment "plans" is archived
    When <actor> unarchives the experiment "old"
    Then the request succeeds
    And the experiment "old" is available
    When <actor> deletes the experiment "plans"
    Then the request succeeds
    And the experiment "plans" no longer exists

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: contributors
      | actor                   |
      | carol                   |

  Scenario Outline: <actor> may not <action> alice's experiment "<name>"
    When <actor> <action>s the experiment "<name>"
    Then the request <result>
    And the experiment "<name>" is unchanged

    Examples:
      | actor                 | action    | name  | result             |
      | bob                   | archive   | plans | is denied          |
      | bob                   | unarchive | old   | is denied          |
      | bob                   | delete    | plans | is denied          |
      | bob's service account | archive   | plans | is denied          |
      | bob's service account | unarchive | old   | is denied          |
      | bob's service account | delete    | plans | is denied          |
      | anonymous             | archive   | plans | is unauthenticated |
      | anonymous             | unarchive | old   | is unauthenticated |
      | anonymous             | delete    | plans | is unauthenticated |

    @roles
    Examples: contributors
      | actor                 | action    | name  | result             |
      | victor                | archive   | plans | is denied          |
      | victor                | unarchive | old   | is denied          |
      | victor                | delete    | plans | is denied          |

    @roles
    Examples: a custom Role that grants get and list only
      | actor | action    | name  | result    |
      | rita  | archive   | plans | is denied |
      | rita  | unarchive | old   | is denied |
      | rita  | delete    | plans | is denied |

  Scenario: Lists never show another tenant's experiments
    Given bob created an experiment "bobs-plans" in bob
    When alice lists experiments in alice
    Then the list shows exactly "old", "plans"
    And total_size is 2
    When bob lists experiments in bob
    Then the list shows exactly "bobs-plans"
    And total_size is 1
