@deployment-mode
Feature: The deployment mode is what the target says it is
  The suite runs the scenarios of the target's mode only (the others end not supported), so the
  mode must be right: the API server's healthz states whether it is multi-user, and only a full
  Kubeflow deployment puts a login proxy in front of it at the gateway.

  @core @requires-multiuser
  Scenario: A multi-user deployment says so
    When alice sends GET /apis/v2beta1/healthz
    Then the API server reports multi-user mode on
    When alice sends GET /apis/v1beta1/healthz
    Then the API server reports multi-user mode on

  @trust-boundary @requires-gateway
  Scenario: Without a session the gateway lets no one reach the API server
    When alice sends GET /apis/v2beta1/healthz through the gateway
    Then the request succeeds
    When anonymous sends GET /apis/v2beta1/healthz through the gateway
    Then the request is unauthenticated

  @standalone @requires-standalone
  Scenario: A standalone deployment says so
    When anonymous sends GET /apis/v2beta1/healthz
    Then the API server reports multi-user mode off
