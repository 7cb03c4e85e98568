@data-plane @artifact-access @requires-multiuser @requires-gateway @requires-data-plane @requires-metadata
Feature: The KFP UI server serves a run's artifacts and logs only to its namespace
  The UI server (ml-pipeline-ui) reads artifacts with its own, all-powerful object-store
  credentials, so it checks every download itself (KFP 2.17 and later): a namespace is
  required, the caller must be a viewer there, and the object must belong to that namespace.
  Pod logs need a namespace the caller may view. Users reach it through the gateway; the object
  key comes from where the KFP UI takes it, ML Metadata.

  Background: alice's finished run
    Given alice created an experiment "work" in alice
    And alice's run "r1" of the producer pipeline in the experiment "work" has finished

  @ISO-014
  Scenario: alice downloads her run's artifact; bob, naming alice's namespace, is refused
    When alice downloads the output artifact of the run "r1" through the UI for alice
    Then the download holds the output artifact of the run "r1"
    When bob downloads the output artifact of the run "r1" through the UI for alice
    Then the UI server refuses with 403 "User is not authorized to GET VIEWERS in namespace {namespace:alice}" and the API server's reason

  @ISO-014 @ISO-015
  Scenario: bob naming his own namespace does not get alice's artifact
    When alice downloads the output artifact of the run "r1" through the UI for alice
    Then the download holds the output artifact of the run "r1"
    When bob downloads the output artifact of the run "r1" through the UI for bob
    Then the UI server refuses with 403 "Artifact does not belong to the requested namespace"

  @ISO-014
  Scenario: A download that names no namespace is refused
    When alice downloads the output artifact of the run "r1" through the UI for alice
    Then the download holds the output artifact of the run "r1"
    When bob downloads the output artifact of the run "r1" through the UI without a namespace
    Then the UI server refuses with 400 "Namespace parameter is required when authentication is enabled"

  @ISO-018
  Scenario: Pod logs are served only to viewers of the pod's namespace
    When alice reads the log of a pod of the run "r1" through the UI for alice
    Then the UI server returns the log
    When bob reads the log of a pod of the run "r1" through the UI for alice
    Then the UI server refuses with 403 "Access denied to namespace"
    When bob reads the log of a pod of the run "r1" through the UI without a namespace
    Then the UI server refuses with 422 "podnamespace argument is required"

  @ISO-018
  Scenario: Pod specs and events are served only to viewers of the pod's namespace
    When alice reads the spec of a pod of the run "r1" through the UI for alice
    Then the UI server returns the spec of the pod
    When bob reads the spec of a pod of the run "r1" through the UI for alice
    Then the UI server refuses with 403 "Access denied to namespace"
    When alice reads the events of a pod of the run "r1" through the UI for alice
    Then the UI server returns the events of the pod
    When bob reads the events of a pod of the run "r1" through the UI for alice
    Then the UI server refuses with 403 "Access denied to namespace"
