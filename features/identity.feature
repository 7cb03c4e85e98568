@core @trust-boundary @identity @requires-multiuser
Feature: Identity and the trust boundary
  The API server refuses a request that carries no identity. Outside the cluster the ingress
  gateway decides who is calling: an identity header sent by the client is dropped and replaced.

  Background: alice's experiment, made by alice (the positive control)
    Given alice created an experiment "plans" in alice

  Scenario: A request without identity is refused
    When anonymous lists experiments in alice
    Then the request is unauthenticated
    When anonymous gets the experiment "plans"
    Then the request is unauthenticated
    And the experiment "plans" is unchanged

  Scenario: A request without identity creates nothing
    When anonymous creates an experiment "intruder" in alice
    Then the request is unauthenticated
    And nothing was created in alice

  @requires-gateway
  Scenario: Through the gateway, alice's own session reaches her experiments
    When alice sends GET /apis/v2beta1/experiments/{experiment:plans} through the gateway
    Then the request succeeds

  @requires-gateway @ISO-023
  Scenario: Through the gateway, a forged kubeflow-userid header is ignored
    When bob sends GET /apis/v2beta1/experiments/{experiment:plans} through the gateway, claiming to be alice
    Then the request is denied
    When bob sends POST /apis/v2beta1/experiments/{experiment:plans}:archive through the gateway, claiming to be alice
    Then the request is denied
    And the experiment "plans" is unchanged

  @requires-gateway
  Scenario: Through the gateway, a forged kubeflow-userid header gives no identity
    When anonymous sends GET /apis/v2beta1/experiments?namespace={namespace:alice} through the gateway, claiming to be alice
    Then the request is unauthenticated
