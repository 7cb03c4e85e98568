@core @pipelines @requires-multiuser
Feature: Namespaced pipelines belong to their namespace
  A pipeline created with a namespace lives in that namespace, and its versions with it: the
  versions are authorized through their pipeline (SAR resource "pipelines"). Only people and
  service accounts with rights in the namespace may read it, change it, add versions to it or
  create pipelines there; everyone else is refused exactly (403 PermissionDenied, or 401 without
  identity) and changes nothing. A shared pipeline (no namespace) is readable by everyone and
  written only by the KFP system namespace's administrators; a run may name a stored pipeline
  version only when its creator may read that pipeline.

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

  @ISO-012
  Scenario Outline: <actor> may read and list shared pipelines
    A shared pipeline (no namespace) is readable by every authenticated user: a read asks no
    cluster-wide permission, which ordinary users do not hold (KFP 2.0.0-beta.1, issue 8897).

    Given an admin created a shared pipeline "common"
    And an admin added a version "v1" to the shared pipeline "common"
    When <actor> lists shared pipelines named "common"
    Then the request succeeds
    And the listed pipelines are exactly "common"
    When <actor> gets the shared pipeline "common"
    Then the request succeeds
    And the answer is the shared pipeline "common"
    When <actor> lists the versions of the shared pipeline "common"
    Then the request succeeds
    And the listed versions are exactly "v1"
    When <actor> gets the version "v1" of the shared pipeline "common"
    Then the request succeeds
    And the answer holds the pipeline definition

    Examples:
      | actor                 |
      | alice                 |
      | bob's service account |

  @ISO-005
  Scenario Outline: <actor> may not create, change or extend a shared pipeline
    Writes to shared pipelines are authorized in the KFP system namespace, where only its
    administrators may write (KFP 2.17); tenants read shared pipelines but do not change them.

    Given an admin created a shared pipeline "common"
    And an admin added a version "v1" to the shared pipeline "common"
    When an admin renames the shared pipeline "common"
    Then the request succeeds
    And the pipeline "common" is renamed
    When <actor> creates a shared pipeline "intruder"
    Then the request is denied
    And no shared pipeline named "intruder" exists
    When <actor> renames the shared pipeline "common"
    Then the request is denied
    When <actor> creates a version "evil" of the pipeline "common"
    Then the request is denied
    When <actor> renames the version "v1" of the shared pipeline "common"
    Then the request is denied
    When <actor> deletes the version "v1" of the shared pipeline "common"
    Then the request is denied
    When <actor> deletes the shared pipeline "common"
    Then the request is denied
    When <actor> deletes the shared pipeline "common" with the v1beta1 API
    Then the request is denied
    When <actor> makes the version "v1" the default of the shared pipeline "common"
    Then the request is denied
    And the pipeline "common" is unchanged
    And the version "v1" of the pipeline "common" is unchanged
    And the pipeline "common" has exactly the versions "v1"

    Examples:
      | actor                 |
      | bob                   |
      | bob's service account |

  @ISO-006
  Scenario Outline: <actor> may neither publish a shared pipeline nor add a version to one by upload (<api>)
    The multipart uploads are authorized like the JSON calls: only who may create pipelines in
    the KFP system namespace publishes a shared pipeline or adds a version to one (KFP 2.18,
    CVE-2026-77596). The upload endpoints answer a refusal with their own 400 (spec 5.5).

    Given an admin created a shared pipeline "common"
    When an admin uploads a shared pipeline "published" with the <api> API
    Then the request succeeds
    When an admin uploads a version "v1" of the shared pipeline "common" with the <api> API
    Then the request succeeds
    When <actor> uploads a shared pipeline "intruder" with the <api> API
    Then the upload fails with 400 "Failed to create a pipeline"
    And no shared pipeline named "intruder" exists
    When <actor> uploads a version "evil" of the shared pipeline "common" with the <api> API
    Then the upload fails with 400 "Failed to create a pipeline version"
    And the pipeline "common" has exactly the versions "v1"

    Examples:
      | actor                 | api     |
      | bob                   | v2beta1 |
      | bob                   | v1beta1 |
      | bob's service account | v2beta1 |

  @ISO-007
  Scenario Outline: alice may not run bob's private pipeline (<api>)
    A run that names a stored pipeline version executes it and shows its definition, so it needs
    the right to read that pipeline besides the right to create runs in the experiment (KFP
    2.18, GHSA-v83x-544f-ph2r).

    Given alice created an experiment "plans" in alice
    And bob created an experiment "bplans" in bob
    And bob created a pipeline "secret-flow" in bob
    And bob added a version "v1" to the pipeline "secret-flow"
    When bob creates a run "own" of the version "v1" of the pipeline "secret-flow" in the experiment "bplans" with the <api> API
    Then the request succeeds
    When alice creates a run "mine" of the version "v1" of the pipeline "flow" in the experiment "plans" with the <api> API
    Then the request succeeds
    When alice creates a run "borrowed" of the version "v1" of the pipeline "secret-flow" in the experiment "plans" with the <api> API
    Then the request is denied
    When alice lists runs of the experiment "plans"
    Then the listed runs are exactly "mine"

    Examples:
      | api     |
      | v2beta1 |
      | v1beta1 |
