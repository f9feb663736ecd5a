terraform {
  # 1.5: strcontains() in the archive file filter.
  required_version = ">= 1.5"

  required_providers {
    # 7.21.0: the first with Direct VPC egress of a 2nd-gen function
    # (service_config.direct_vpc_network_interface). Both majors are checked against the
    # provider's schema (tests/unit/test_terraform_schema.py). What the module uses that
    # the 7.0.0 upgrade guide changed: google_storage_bucket's retention_period became a
    # string (given one with tostring()), and google_project_service's disable_on_destroy
    # lost its default of true (set to false here). Nothing it uses is in the 8.0.0 guide.
    google = {
      source  = "hashicorp/google"
      version = ">= 7.21, < 9.0"
    }
    # archive_file with several `source` blocks builds the deploy zips.
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }
}
