@core @pipelines @requires-multiuser
Feature: Namespaced pipelines belong to their namespace
  A pipeline created with a namespace lives in that namespace, and its versions with it: the
  versions are authorized through their pipeline (SAR resource "pipelines"). Only people and
  service accounts with rights in the namespace may read it, change it, add versions to it or
  create pipelines there; everyone else is refused exactly (403 PermissionDenied, or 401 without
  identity) and changes nothing.

  Background: alice's own pipeline and its first version, made by alice (the positive control)
    Given alice created a pipeline "flow" in alice
    And alice added a version "v1" to the pipeline "flow"

  Scenario Outline: <actor> may read alice's pipeline and its versions
    When <actor> gets the pipeline "flow"
    Then the request succeeds
    And the answer is the pipeline "flow"
    When <actor> gets the pipeline named "flow" in alice
    Then the request succeeds
    And the answer is the pipeline "flow"
    When <actor> lists pipelines in alice
    Then the request succeeds
    And the listed pipelines are exactly "flow"
    When <actor> lists the versions of the pipeline "flow"
    Then the request succeeds
    And the listed versions are exactly "v1"
    When <actor> gets the version "v1" of the pipeline "flow"
    Then the request succeeds
    And the pipeline "flow" is unchanged

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: contributors
      | actor                   |
      | carol                   |
      | victor                  |

  Scenario Outline: <actor> may not read alice's pipeline or its versions
    When <actor> gets the pipeline "flow"
    Then the request <result>
    When <actor> gets the pipeline named "flow" in alice
    Then the request <result>
    When <actor> lists pipelines in alice
    Then the request <result>
    When <actor> lists the versions of the pipeline "flow"
    Then the request <result>
    When <actor> gets the version "v1" of the pipeline "flow"
    Then the request <result>
    And the pipeline "flow" is unchanged

    Examples:
      | actor                 | result             |
      | bob                   | is denied          |
      | bob's service account | is denied          |
      | anonymous             | is unauthenticated |

    @roles
    Examples: a custom Role that grants get and list on experiments only
      | actor | result    |
      | rita  | is denied |

  Scenario Outline: <actor> may create pipelines in alice and add versions to hers
    When <actor> creates a pipeline "draft" in alice
    Then the request succeeds
    And the pipeline "draft" belongs to alice
    When <actor> uploads a pipeline "uploaded" to alice
    Then the request succeeds
    And the pipeline "uploaded" belongs to alice
    When <actor> uploads a version "v2" of the pipeline "flow"
    Then the request succeeds
    And the pipeline "flow" has exactly the versions "v1", "v2"

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: contributors
      | actor                   |
      | carol                   |

  Scenario Outline: <actor> may not create pipelines in <tenant>
    When <actor> creates a pipeline "intruder" in <tenant>
    Then the request <result>
    When <actor> creates a pipeline "intruder" with a first version in <tenant>
    Then the request <result>
    And no pipeline was created in <tenant>

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
    Examples: a custom Role that grants get and list on experiments only
      | actor | tenant | result    |
      | rita  | alice  | is denied |

  Scenario Outline: <actor> may not add a version to alice's pipeline
    When <actor> creates a version "intruder" of the pipeline "flow"
    Then the request <result>
    And the pipeline "flow" has exactly the versions "v1"

    Examples:
      | actor                 | result             |
      | bob                   | is denied          |
      | bob's service account | is denied          |
      | anonymous             | is unauthenticated |

    @roles
    Examples: contributors
      | actor                 | result             |
      | victor                | is denied          |

    @roles
    Examples: a custom Role that grants get and list on experiments only
      | actor | result    |
      | rita  | is denied |

  Scenario Outline: <actor> may not upload a pipeline to alice or a version to her pipeline
    The upload endpoints answer an authorization failure with their own 400 (spec 5.5).

    When <actor> uploads a pipeline "intruder" to alice
    Then the upload fails with 400 "Failed to create a pipeline"
    And no pipeline was created in alice
    When <actor> uploads a version "intruder" of the pipeline "flow"
    Then the upload fails with 400 "Failed to create a pipeline version"
    And the pipeline "flow" has exactly the versions "v1"

    Examples:
      | actor                 |
      | bob                   |
      | bob's service account |

    @roles
    Examples: contributors
      | actor                 |
      | victor                |

  Scenario Outline: <actor> may rename alice's pipeline and its version, and delete them
    When <actor> renames the pipeline "flow"
    Then the request succeeds
    And the pipeline "flow" is renamed
    When <actor> renames the version "v1" of the pipeline "flow"
    Then the request succeeds
    And the version "v1" of the pipeline "flow" is renamed
    When <actor> deletes the version "v1" of the pipeline "flow"
    Then the request succeeds
    And the pipeline "flow" has no versions
    When <actor> deletes the pipeline "flow"
    Then the request succeeds
    And the pipeline "flow" no longer exists

    Examples:
      | actor                   |
      | alice                   |
      | alice's service account |

    @roles
    Examples: contributors
      | actor                   |
      | carol                   |

  Scenario Outline: <actor> may not change alice's pipeline or its version
    When <actor> renames the pipeline "flow"
    Then the request <result>
    When <actor> renames the version "v1" of the pipeline "flow"
    Then the request <result>
    When <actor> deletes the version "v1" of the pipeline "flow"
    Then the request <result>
    And the version "v1" of the pipeline "flow" is unchanged
    When <actor> deletes the pipeline "flow"
    Then the request <result>
    And the pipeline "flow" is unchanged
    And the pipeline "flow" has exactly the versions "v1"

    Examples:
      | actor                 | result             |
      | bob                   | is denied          |
      | bob's service account | is denied          |
      | anonymous             | is unauthenticated |

    @roles
    Examples: contributors
      | actor                 | result             |
      | victor                | is denied          |

    @roles
    Examples: a custom Role that grants get and list on experiments only
      | actor | result    |
      | rita  | is denied |

  Scenario: Pipeline lists never show another tenant's pipelines
    Given bob created a pipeline "bobs-flow" in bob
    When alice lists pipelines in alice
    Then the listed pipelines are exactly "flow"
    When bob lists pipelines in bob
    Then the listed pipelines are exactly "bobs-flow"
    When bob gets the pipeline named "flow" in alice
    Then the request is denied
