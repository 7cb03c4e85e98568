@limitations
Feature: Documented limitations of multi-user isolation
  What Kubeflow documents as not isolated between namespaces. Each scenario states the limitation
  as it is today: every step holding means the limitation is present on the target; a Then that
  does not hold means the target lifted it. Neither fails the run.

  @shared-pipelines @requires-multiuser
  Scenario Outline: Pipeline definitions are shared: <actor> reads and lists a shared pipeline
    A pipeline created without a namespace is shared: reading and listing it is never authorized
    (spec 4.4). Creating one is authorized in the KFP system namespace, where the admin may.
    A deployment with REQUIRE_NAMESPACE_FOR_PIPELINES refuses to create (and list) shared
    pipelines: there the limitation is lifted.

    When an admin creates a shared pipeline "common"
    Then the shared pipeline is accepted
    When an admin uploads a version "v1" of the shared pipeline "common"
    Then the shared pipeline is accepted
    When <actor> gets the shared pipeline "common"
    Then the request succeeds
    And the answer is the shared pipeline "common"
    When <actor> lists the versions of the shared pipeline "common"
    Then the request succeeds
    And the listed versions are exactly "v1"
    When <actor> gets the version "v1" of the shared pipeline "common"
    Then the request succeeds
    And the answer holds the pipeline definition
    When <actor> lists shared pipelines named "common"
    Then the request succeeds
    And the listed pipelines are exactly "common"

    Examples:
      | actor                 |
      | bob                   |
      | bob's service account |

  @shared-pipelines @requires-multiuser
  Scenario: Pipeline definitions are shared: a caller without identity reads a shared pipeline
    The API server asks no one who reads a shared pipeline. Outside the cluster the login proxy
    stops callers without a session before they reach it, so this is asked where an in-cluster
    caller asks: at the API server's own endpoint.

    When an admin creates a shared pipeline "common"
    Then the shared pipeline is accepted
    When an admin uploads a version "v1" of the shared pipeline "common"
    Then the shared pipeline is accepted
    When anonymous gets the shared pipeline "common" through the direct endpoint
    Then the request succeeds
    And the answer is the shared pipeline "common"
    When anonymous gets the version "v1" of the shared pipeline "common" through the direct endpoint
    Then the request succeeds
    And the answer holds the pipeline definition
    When anonymous lists shared pipelines named "common" through the direct endpoint
    Then the request succeeds
    And the listed pipelines are exactly "common"

  @shared-metadata @ISO-020 @requires-multiuser @requires-data-plane @requires-metadata
  Scenario: ML Metadata is shared: bob reads the artifacts and executions of alice's run
    ML Metadata (MLMD) keeps one store for every namespace, with no authorization of its own.
    Bob asks it the way the KFP UI does (gRPC-web, the run context named by the run's id), with
    his own credentials, after alice asked for her own. A deployment that blocks tenants from
    MLMD (KFP 2.18.1 refuses alice too) lifts it.

    Given alice created an experiment "work" in alice
    And alice's run "r1" of the producer pipeline in the experiment "work" has finished
    When alice asks ML Metadata for the artifacts of her run "r1"
    Then ML Metadata returns the artifacts of alice's run "r1" to alice
    When bob asks ML Metadata for the artifacts of alice's run "r1"
    Then ML Metadata returns the artifacts of alice's run "r1" to bob
    When alice asks ML Metadata for the executions of her run "r1"
    Then ML Metadata returns the executions of alice's run "r1" to alice
    When bob asks ML Metadata for the executions of alice's run "r1"
    Then ML Metadata returns the executions of alice's run "r1" to bob

  @shared-artifacts @ISO-021 @requires-multiuser @requires-data-plane @requires-object-store
  Scenario: The object store is shared: bob lists and reads the artifacts of alice's run
    Run artifacts go to one bucket, "mlpipeline", under a prefix per run. Bob uses the
    object-store credentials his own namespace holds. Per-namespace credentials limited to the
    namespace's own prefix (SeaweedFS, KFP 2.15 and later) lift it.

    Given alice created an experiment "work" in alice
    And alice's run "r1" of the producer pipeline in the experiment "work" has finished
    And alice reads the output artifact of her run "r1" with her namespace's credentials
    When bob lists the objects under the prefix of alice's run "r1" in the "mlpipeline" bucket
    Then the listing shows the output artifact of alice's run "r1"
    When bob reads the output artifact of alice's run "r1" from the "mlpipeline" bucket
    Then bob receives the content of the output artifact of alice's run "r1"

  @shared-artifacts @ISO-021 @requires-multiuser @requires-data-plane @requires-object-store
  Scenario: The object store is shared: bob overwrites an artifact of alice's run
    Shared credentials can write too: a later step of alice's, or her cached result, reads what
    bob put there.

    Given alice created an experiment "work" in alice
    And alice's run "r1" of the producer pipeline in the experiment "work" has finished
    And alice reads the output artifact of her run "r1" with her namespace's credentials
    When bob writes "tampered by bob" over the output artifact of alice's run "r1"
    Then alice reads "tampered by bob" from the output artifact of her run "r1"
