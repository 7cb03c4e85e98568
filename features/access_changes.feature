@trust-boundary @access-changes @requires-multiuser
Feature: Access changes take effect on the next request
  The API server keeps no authorization state: each request is reviewed anew, the bearer token
  by a Kubernetes TokenReview for the audience pipelines.kubeflow.org, the caller by a
  SubjectAccessReview. Once Kubernetes has taken a change (a contributor removed or added, a
  service account deleted, a token expired), the very next request follows it. The steps change
  access through the Kubernetes API, wait until Kubernetes' own review agrees, and undo the
  change when the scenario ends.

  Background: alice's experiment, made by alice (the positive control)
    Given alice created an experiment "plans" in alice

  @roles
  Scenario: A contributor removed from alice is refused on the very next request
    When carol gets the experiment "plans"
    Then the request succeeds
    When carol is removed as a contributor of alice
    And carol gets the experiment "plans"
    Then the request is denied
    When carol lists experiments in alice
    Then the request is denied
    When carol creates an experiment "after-removal" in alice
    Then the request is denied
    And nothing was created in alice
    And the experiment "plans" is unchanged

  Scenario: A person added as a contributor of alice is allowed on the very next request
    When bob gets the experiment "plans"
    Then the request is denied
    When bob is added as an edit contributor of alice
    And bob gets the experiment "plans"
    Then the request succeeds
    When bob lists experiments in alice
    Then the list shows exactly "plans"
    When bob creates an experiment "bobs-contribution" in alice
    Then the request succeeds
    And the experiment "bobs-contribution" belongs to alice

  Scenario: A service account token for another audience is refused by the API server
    When alice's service account sends GET /apis/v2beta1/experiments/{experiment:plans} through the direct endpoint with a token for the audience "pipelines.kubeflow.org"
    Then the request succeeds
    When alice's service account sends GET /apis/v2beta1/experiments/{experiment:plans} through the direct endpoint with a token for the audience "wrong"
    Then the request is unauthenticated
    And the request is refused by the token review
    When alice's service account sends POST /apis/v2beta1/experiments/{experiment:plans}:archive through the direct endpoint with a token for the audience "wrong"
    Then the request is refused by the token review
    And the experiment "plans" is unchanged

  Scenario: The token of a deleted service account is refused on the very next request
    Given a new service account "robot" in alice that may edit there
    When the service account "robot" sends GET /apis/v2beta1/experiments/{experiment:plans} through the direct endpoint
    Then the request succeeds
    When the service account "robot" is deleted
    And the service account "robot" sends GET /apis/v2beta1/experiments/{experiment:plans} through the direct endpoint
    Then the request is unauthenticated
    And the request is refused by the token review
    When the service account "robot" sends POST /apis/v2beta1/experiments/{experiment:plans}:archive through the direct endpoint
    Then the request is refused by the token review
    And the experiment "plans" is unchanged

  @requires-emulator-controls
  Scenario: An expired token is refused
    Given alice's service account holds a token that expires in 600 seconds
    When alice's service account sends GET /apis/v2beta1/experiments/{experiment:plans} with that token
    Then the request succeeds
    When the emulator's clock advances by 700 seconds
    And alice's service account sends GET /apis/v2beta1/experiments/{experiment:plans} with that token
    Then the expired token is refused
    When alice's service account sends POST /apis/v2beta1/experiments/{experiment:plans}:archive with that token
    Then the expired token is refused
    And the experiment "plans" is unchanged

  @ISO-024 @requires-gateway
  Scenario: Through the gateway, nobody but the dashboard reaches KFAM
    When alice asks the dashboard for the contributors of alice
    Then the request succeeds
    When bob reads KFAM's bindings of alice through the gateway
    Then the request is refused by Istio's policy

  @ISO-024 @requires-gateway
  Scenario: In the cluster, a forged identity does not make bob a contributor through KFAM
    When alice asks the dashboard for the contributors of alice
    Then the request succeeds
    When bob gets the experiment "plans"
    Then the request is denied
    When bob asks KFAM in the cluster to make bob an edit contributor of alice, claiming to be alice
    Then the request is refused by Istio's policy
    When bob gets the experiment "plans"
    Then the request is denied
    And the experiment "plans" is unchanged
